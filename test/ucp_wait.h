/*
 * Copyright (c) 2026 ucx-p2pmem developers
 * SPDX-License-Identifier: BSD-3-Clause
 *
 * ucx-p2pmem: completing a UCP request in the test programs (one
 * translation unit each), progressing one worker or a connected pair.
 */
#ifndef P2PMEM_TEST_UCP_WAIT_H_
#define P2PMEM_TEST_UCP_WAIT_H_

#include <ucp/api/ucp.h>

/* Progress w1 (and w2 unless NULL) until req completes; free it. */
static ucs_status_t wait_request(ucp_worker_h w1, ucp_worker_h w2, void *req)
{
    ucs_status_t status;

    if (req == NULL) {
        return UCS_OK;
    }
    if (UCS_PTR_IS_ERR(req)) {
        return UCS_PTR_STATUS(req);
    }
    do {
        ucp_worker_progress(w1);
        if (w2 != NULL) {
            ucp_worker_progress(w2);
        }
        status = ucp_request_check_status(req);
    } while (status == UCS_INPROGRESS);
    ucp_request_free(req);
    return status;
}

#endif

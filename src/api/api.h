/* SPDX-License-Identifier: Apache-2.0 */
/*
 * The REST API's router: Firecracker's swagger contract on top of the
 * controller's actions (vmm/actions.h). A request (method, path, body) becomes
 * one action and its result a status and a JSON body: 200 with JSON for GETs,
 * 204 without a body for PUT/PATCH actions that worked, 400 with
 * {"fault_message": "..."} naming what was wrong otherwise (500 when ember
 * itself failed). Endpoints of features ember does not have yet answer 400
 * saying so. No socket here: the HTTP server (api/http_server.h), the unit
 * tests and the fuzzer call it directly.
 */
#ifndef EMBER_API_API_H
#define EMBER_API_API_H

#include "api/http.h"
#include "vmm/actions.h"

/* Answers @req against @ctl into @resp (resp->body is malloc'd; the caller frees it). */
void api_handle(struct controller *ctl, const struct http_request *req, struct http_response *resp);

/* api_handle as the HTTP server's handler; @opaque is the struct controller. */
void api_http_handler(void *opaque, const struct http_request *req, struct http_response *resp);

#endif

// Generic host-capability caller (WASI): the host_caller rule over `host`.`call`, whose reply
// the host appends to stdin.
#include "../host_caller/host_caller_rule.h"
#include "wasi_guest.h"

static bool transport(const char* binding, const char* ns, const char* op, const void* payload,
                      size_t len, char** data, size_t* data_len) {
  kw_host_result r = {false, NULL, 0};
  kw_host_call(binding, ns, op, payload, len, &r);
  *data = r.data;
  *data_len = r.data ? r.len : 0;
  return r.ok;
}

static bool validate(kw_json_doc* doc, const kw_json* request, const kw_json* settings,
                     kw_validation* out) {
  return host_caller_validate(doc, settings, transport, out);
}

KW_WASI_POLICY(.validate = validate, .validate_settings = host_caller_validate_settings)

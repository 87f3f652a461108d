// Generic host-capability caller (waPC): sends the payload from its settings to
// (binding, namespace, operation) through __host_call and reports the reply. Tests use it to
// reach every capability from a waPC guest.
#include "host_caller_rule.h"
#include "wapc_guest.h"

static bool transport(const char* binding, const char* ns, const char* op, const void* payload,
                      size_t len, char** data, size_t* data_len) {
  wapc_host_result r = {false, NULL, 0};
  wapc_host_call(binding, ns, op, payload, len, &r);
  *data = r.data;
  *data_len = r.data ? r.len : 0;
  return r.ok;
}

static bool validate(kw_json_doc* doc, const kw_json* request, const kw_json* settings,
                     kw_validation* out) {
  return host_caller_validate(doc, settings, transport, out);
}

KW_POLICY(.validate = validate, .validate_settings = host_caller_validate_settings)

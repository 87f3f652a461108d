// Context-aware policy (waPC): a request is accepted only in a Namespace that carries the label
// named by `required_label`. It lists every Namespace on each evaluation, which makes it the
// context-aware benchmark's policy.
#include "namespace_label_rule.h"
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
  return namespace_label_validate(doc, request, settings, transport, out);
}

KW_POLICY(.validate = validate, .validate_settings = namespace_label_validate_settings)

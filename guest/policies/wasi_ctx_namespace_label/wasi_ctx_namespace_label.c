// Context-aware policy (WASI): the ctx_namespace_label rule over `host`.`call`.
#include "../ctx_namespace_label/namespace_label_rule.h"
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
  return namespace_label_validate(doc, request, settings, transport, out);
}

KW_WASI_POLICY(.validate = validate, .validate_settings = namespace_label_validate_settings)

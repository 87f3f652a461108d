// Context-aware Rego-mode (executionMode: opa) policy written in C against OPA's Wasm ABI.
// Its rule, in Rego terms:
//
//   allowed := true { data.kubernetes.namespaces[input.request.namespace] }
//   response := {"uid": input.request.uid, "allowed": allowed, "status": {"message": msg}}
//
// The host fills data.kubernetes from the policy's contextAwareResources (kube-mgmt layout:
// cluster-scoped objects under kubernetes.<plural>.<name>).
#include "opa_guest.h"

static const char* opa_entrypoints_json(void) {
  return "{\"policy/main\":0}";
}

static bool opa_rule(kw_json_doc* doc, const kw_json* input, const kw_json* data, kw_sb* out) {
  size_t uid_len = 0, ns_len = 0;
  const char* uid = kw_json_str(kw_json_path(input, "request.uid"), &uid_len);
  const char* ns = kw_json_str(kw_json_path(input, "request.namespace"), &ns_len);
  const kw_json* known = kw_json_path(data, "kubernetes.namespaces");
  bool allowed = ns && kw_json_getn(known, ns, ns_len) != NULL;

  kw_sb_append_cstr(out, "[{\"result\":{\"response\":{\"uid\":");
  kw_sb_append_json_string(out, uid ? uid : "", uid_len);
  kw_sb_append_cstr(out, allowed ? ",\"allowed\":true" : ",\"allowed\":false");
  if (!allowed) {
    kw_sb msg;
    kw_sb_init(&msg);
    if (ns) {
      kw_sb_append_cstr(&msg, "namespace '");
      kw_sb_append(&msg, ns, ns_len);
      kw_sb_append_cstr(&msg, "' is not in data.kubernetes.namespaces");
    } else {
      kw_sb_append_cstr(&msg, "the request has no namespace");
    }
    kw_sb_append_cstr(out, ",\"status\":{\"message\":");
    kw_sb_append_json_string(out, kw_sb_cstr(&msg), msg.len);
    kw_sb_append_cstr(out, "}");
    if (msg.oom) out->oom = true;
  }
  kw_sb_append_cstr(out, "}}}]");
  return true;
}

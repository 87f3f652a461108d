// Context-aware Gatekeeper-mode policy written in C against OPA's Wasm ABI. Its rule, in Rego:
//
//   violation[{"msg": msg}] {
//     not data.inventory.cluster["v1"]["Namespace"][input.review.namespace]
//     msg := sprintf("namespace '%v' is not in the inventory", [input.review.namespace])
//   }
//
// The host fills data.inventory from the policy's contextAwareResources.
#include "../opa_ctx_namespace/opa_guest.h"

static const char* opa_entrypoints_json(void) {
  return "{\"policy/violation\":0}";
}

static bool opa_rule(kw_json_doc* doc, const kw_json* input, const kw_json* data, kw_sb* out) {
  size_t ns_len = 0;
  const char* ns = kw_json_str(kw_json_path(input, "review.namespace"), &ns_len);
  const kw_json* cluster = kw_json_path(data, "inventory.cluster");
  const kw_json* known = kw_json_get(kw_json_get(cluster, "v1"), "Namespace");
  if (ns && kw_json_getn(known, ns, ns_len)) {
    kw_sb_append_cstr(out, "[{\"result\":[]}]");
    return true;
  }
  kw_sb msg;
  kw_sb_init(&msg);
  if (ns) {
    kw_sb_append_cstr(&msg, "namespace '");
    kw_sb_append(&msg, ns, ns_len);
    kw_sb_append_cstr(&msg, "' is not in the inventory");
  } else {
    kw_sb_append_cstr(&msg, "the request has no namespace");
  }
  kw_sb_append_cstr(out, "[{\"result\":[{\"msg\":");
  kw_sb_append_json_string(out, kw_sb_cstr(&msg), msg.len);
  kw_sb_append_cstr(out, "}]}]");
  if (msg.oom) out->oom = true;
  return true;
}

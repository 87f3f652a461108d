// Rejects Pods that run any privileged container. Works directly on the parsed DOM: lookups
// return pointers into the request buffer, so nothing is copied on the hot path.
#include "wapc_guest.h"

static const char* const kContainerLists[] = {"containers", "initContainers",
                                              "ephemeralContainers"};

static bool is_pod(const kw_json* request) {
  const kw_json* kind = kw_json_get(request, "kind");
  if (kind) return kw_json_str_eq(kw_json_get(kind, "kind"), "Pod");
  // Fall back to the object itself when the request omits its GroupVersionKind.
  return kw_json_str_eq(kw_json_path(request, "object.kind"), "Pod");
}

static bool any_privileged(const kw_json* containers) {
  for (const kw_json* c = kw_json_first(containers); c; c = c->next) {
    const kw_json* sc = kw_json_get(c, "securityContext");
    if (kw_json_is_true(kw_json_get(sc, "privileged"))) return true;
  }
  return false;
}

static bool validate(kw_json_doc* doc, const kw_json* request, const kw_json* settings,
                     kw_validation* out) {
  out->accepted = true;
  if (!is_pod(request)) return true;
  const kw_json* spec = kw_json_path(request, "object.spec");
  for (size_t i = 0; i < sizeof(kContainerLists) / sizeof(kContainerLists[0]); i++) {
    if (any_privileged(kw_json_get(spec, kContainerLists[i]))) {
      out->accepted = false;
      out->message = "Privileged container is not allowed";
      return true;
    }
  }
  return true;
}

KW_POLICY(.validate = validate)

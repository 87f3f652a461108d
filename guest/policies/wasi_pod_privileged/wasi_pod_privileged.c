// The pod_privileged rule as a WASI command module: a Pod is rejected as soon as one of its
// container lists holds an entry whose securityContext sets privileged: true.
#include "wasi_guest.h"

static const char* const kLists[] = {"containers", "initContainers", "ephemeralContainers"};

// AdmissionRequests name the kind in request.kind; fall back on the object for bare requests.
static bool targets_pod(const kw_json* request) {
  const kw_json* gvk = kw_json_get(request, "kind");
  if (gvk) return kw_json_str_eq(kw_json_get(gvk, "kind"), "Pod");
  return kw_json_str_eq(kw_json_path(request, "object.kind"), "Pod");
}

static bool has_privileged(const kw_json* list) {
  for (const kw_json* c = kw_json_first(list); c; c = c->next) {
    if (kw_json_is_true(kw_json_path(c, "securityContext.privileged"))) return true;
  }
  return false;
}

static bool validate(kw_json_doc* doc, const kw_json* request, const kw_json* settings,
                     kw_validation* out) {
  out->accepted = true;
  if (!targets_pod(request)) return true;
  const kw_json* spec = kw_json_path(request, "object.spec");
  for (size_t i = 0; i < sizeof(kLists) / sizeof(kLists[0]); i++) {
    if (has_privileged(kw_json_get(spec, kLists[i]))) {
      out->accepted = false;
      out->message = "Privileged container is not allowed";
      break;
    }
  }
  return true;
}

KW_WASI_POLICY(.validate = validate)

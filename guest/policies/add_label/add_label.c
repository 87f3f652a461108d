// Mutating policy: stamps every object with the label kubewarden.io/mutated="true".
#include <string.h>

#include "wapc_guest.h"

static const char kLabelKey[] = "kubewarden.io/mutated";
static const char kLabelValue[] = "true";

// Returns obj[key] as an object, replacing a missing or non-object (e.g. null) member.
static kw_json* ensure_object(kw_json_doc* doc, kw_json* obj, const char* key) {
  kw_json* member = kw_json_get(obj, key);
  if (kw_json_is(member, KW_JSON_OBJECT)) return member;
  member = kw_json_new_object(doc);
  if (!member || !kw_json_object_set(doc, obj, key, strlen(key), member)) return NULL;
  return member;
}

static bool validate(kw_json_doc* doc, const kw_json* request, const kw_json* settings,
                     kw_validation* out) {
  out->accepted = true;
  kw_json* object = kw_json_get(request, "object");
  // Nothing to label on DELETE (object is null) or on malformed requests.
  if (!kw_json_is(object, KW_JSON_OBJECT)) return true;
  kw_json* labels = kw_json_get(kw_json_get(object, "metadata"), "labels");
  if (kw_json_str_eq(kw_json_getn(labels, kLabelKey, sizeof(kLabelKey) - 1), kLabelValue)) {
    return true;
  }
  kw_json* metadata = ensure_object(doc, object, "metadata");
  labels = metadata ? ensure_object(doc, metadata, "labels") : NULL;
  kw_json* value = kw_json_new_string(doc, kLabelValue, sizeof(kLabelValue) - 1);
  if (!labels || !value ||
      !kw_json_object_set(doc, labels, kLabelKey, sizeof(kLabelKey) - 1, value)) {
    out->message = "out of memory building the mutated object";
    return false;
  }
  out->mutated_object = object;
  return true;
}

KW_POLICY(.validate = validate)

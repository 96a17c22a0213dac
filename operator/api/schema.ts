// Typed builders for apiextensions.k8s.io/v1 structural schemas.
//
// The CRDs are written in TypeScript so that one source yields both the YAML
// the apiserver validates against and the types the operator compiles
// against. The builders take the description as their first argument so a
// field without one cannot be written by accident.
//
// The builders live under schema/, one file per concern; this module gathers
// what the kinds and the emitter use.

export type {
  CustomResourceDefinition,
  JSONSchemaProps,
  JSONValue,
  PrinterColumn,
  TypeHint,
  ValidationRule,
} from './schema/types.js';
export { named, typeHint } from './schema/types.js';
export {
  CONFIG_KEY,
  CRON_PATTERN,
  DNS1123_LABEL,
  DNS1123_SUBDOMAIN,
  DURATION_PATTERN,
  HTTP_URL,
  PATH,
  QUANTITY_PATTERN,
  RETENTION_PATTERN,
  rule,
} from './schema/patterns.js';
export type { NumberOpts, StringOpts } from './schema/scalars.js';
export {
  bool,
  cron,
  duration,
  enumOf,
  int32,
  int64,
  intOrString,
  num,
  quantity,
  retention,
  str,
  timestamp,
} from './schema/scalars.js';
export type { ListOpts, Props, RequiredProp } from './schema/structures.js';
export {
  ageColumn,
  conditions,
  list,
  obj,
  objectName,
  observedGeneration,
  readyColumn,
  ref,
  required,
  secretKeyRef,
} from './schema/structures.js';
export type { KindDefinition } from './schema/crd.js';
export { customResourceDefinition, GROUP, VERSION } from './schema/crd.js';

// Everything heavy the extension needs (dockerode, systeminformation, tar-stream, dockerfile-ast) lives
// behind this module, bundled as dist/engine.js and loaded on first use, so activation stays cheap.
export { Engine } from '../core/engine';
export { DockerEventWatcher } from '../core/runtime/docker/events';
export type { DockerEvent } from '../core/runtime/docker/events';
export { DaemonUnreachableError, NotFoundError } from '../core/runtime/docker/client';
export { evaluateRules, parseRuleValue } from '../core/ci/rules';
export * as dockerfile from '../core/dockerfile';

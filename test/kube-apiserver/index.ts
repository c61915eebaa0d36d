// Public entry point of the Kubernetes API test server.
export { startKubeApiServer, type KubeApiServer } from './server.ts';
export type { KubeApiServerOptions, RecordedRequest, UserInfo } from './types.ts';
export { loadHar, entryBySeq, header, FIXTURES_DIR, type HarEntry } from './fixtures.ts';
export { decodeKubeProtobuf } from './protobuf.ts';

// dockerode's BuildKit session (gRPC + protobuf) serves only image builds, which Container X-Ray never
// starts; the bundle replaces it with this stub to stay small and start fast.
module.exports = function withSession() {
  throw new Error('BuildKit sessions are not part of the Container X-Ray bundle');
};

// A protocol's declaration (config/protocols/) → the WireProtocol the HTTP
// backend calls: every HTTP protocol maps calls the same way (the model's
// path, then the operation's), so a new one needs a declaration, not code.
import { carriesGrpc } from '../../grpc/content-type.js';
import type { Protocol, ProtocolDeclaration } from '../../config/protocols/index.js';
import { rewriteModelField } from './model-field.js';
import { servedModel, servedVersion } from './names.js';
import type { WireProtocol } from './types.js';
import { grpcOnly, unsupported } from './unsupported.js';

export function httpWire(name: Protocol, declared: ProtocolDeclaration): WireProtocol {
  const { operations, modelPath, health, healthy, modelField, refusesGrpcMessages } = declared;
  const wire: WireProtocol = {
    modelBase(backend, target) {
      return modelPath === undefined ? '' : modelPath(servedModel(backend, target), servedVersion(backend, target));
    },
    path(call, backend, modelBase = wire.modelBase(backend, call.target)) {
      if (operations === 'any') return call.query;
      const route = operations[call.operation];
      if (route === undefined) throw unsupported(name, call);
      if (refusesGrpcMessages === true && call.method === 'POST' && carriesGrpc(call)) throw grpcOnly(call);
      return modelBase + route + call.query;
    },
    healthPath(backend, target) {
      if (health === undefined) return undefined;
      if ('path' in health) return health.path;
      return wire.modelBase(backend, target) + (operations === 'any' ? '' : (operations.ready ?? ''));
    },
  };
  if (healthy !== undefined) wire.healthy = healthy;
  if (modelField !== undefined) {
    wire.rewriteBody = (call, backend) =>
      call.method === 'GET' || call.method === 'HEAD' ? undefined : rewriteModelField(call, backend, modelField);
  }
  return wire;
}

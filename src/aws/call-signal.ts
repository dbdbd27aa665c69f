/**
 * How a call's abort signal reaches the HTTP handler without per-call SDK options.
 *
 * An SDK client resolves its whole middleware stack again on every call that passes options (and every call
 * passes an abort signal: aws/call.ts). Given no options and `cacheMiddleware`, it resolves the stack once per
 * command class instead; the SDK documents the saving as up to a millisecond a call, and on an idle worker, whose
 * CPU is nearly all per-call SDK work, it is about a fifth (docs/performance.md, 'Idle shards').
 *
 * So the clients built in aws/clients.ts are "signalled": `sendArgs` puts the signal on the command's input
 * under a symbol the serializers never see, a middleware placed just before the handler moves it onto the HTTP
 * request, and the handler (`SignalledHttpHandler`) aborts the request with it, exactly as it would have with
 * `{ abortSignal }`. Any other client (one a user passed in) gets `{ abortSignal }` as before.
 *
 * Owns: the symbol, the middleware, the handler subclass and the registry of signalled clients. Knows nothing of
 * what is called or why.
 */
import { NodeHttpHandler } from '@smithy/node-http-handler';

type HandleArgs = Parameters<NodeHttpHandler['handle']>;
type HttpHandlerOptions = NonNullable<HandleArgs[1]>;

const CALL_SIGNAL = Symbol('kcl.callSignal');

type Signalled = { [CALL_SIGNAL]?: AbortSignal };

const signalledClients = new WeakSet<object>();

interface StackOwner {
  middlewareStack: {
    add(middleware: unknown, options: { name: string; step: 'deserialize'; priority: 'low' }): void;
  };
}

/**
 * Marks a client built here as signalled: adds the middleware that carries each call's signal from its input to
 * its request. The client must also have `cacheMiddleware: true` and a `SignalledHttpHandler`.
 */
export function signalled<T extends StackOwner>(client: T): T {
  client.middlewareStack.add(
    (next: (args: { input?: unknown; request?: unknown }) => Promise<unknown>) => (args: { input?: unknown; request?: unknown }) => {
      const signal = (args.input as Signalled | undefined)?.[CALL_SIGNAL];
      if (signal && args.request && typeof args.request === 'object') (args.request as Signalled)[CALL_SIGNAL] = signal;
      return next(args);
    },
    // Innermost: the request it marks is the very object handed to the handler (signing copies requests earlier).
    { name: 'kclCallSignal', step: 'deserialize', priority: 'low' },
  );
  signalledClients.add(client);
  return client;
}

/**
 * The arguments to send `command` with so that `abortSignal` aborts it: `client.send(...sendArgs(client, command,
 * abortSignal))`. For a signalled client, no options (the signal travels on a copy of the command's input, so a
 * caller's input object is never touched); for any other, `{ abortSignal }`.
 */
export function sendArgs<C extends { input: object }>(client: object, command: C, abortSignal: AbortSignal): [C, HttpHandlerOptions | undefined] {
  if (!signalledClients.has(client)) return [command, { abortSignal }];
  (command as { input: object }).input = { ...command.input, [CALL_SIGNAL]: abortSignal };
  return [command, undefined];
}

/** NodeHttpHandler that takes a request's abort signal from the request itself when the options carry none. */
export class SignalledHttpHandler extends NodeHttpHandler {
  override handle(request: HandleArgs[0], options: HttpHandlerOptions = {}): ReturnType<NodeHttpHandler['handle']> {
    const signal = (request as Signalled)[CALL_SIGNAL];
    return super.handle(request, signal && !options.abortSignal ? { ...options, abortSignal: signal } : options);
  }
}

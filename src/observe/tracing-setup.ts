// Switches tracing on from the standard OpenTelemetry environment variables
// (https://opentelemetry.io/docs/specs/otel/configuration/sdk-environment-variables/):
// OTLP/HTTP export when OTEL_TRACES_EXPORTER=otlp or an OTLP endpoint is set;
// OTEL_TRACES_EXPORTER=none or OTEL_SDK_DISABLED=true keep it off. The
// exporter itself reads OTEL_EXPORTER_OTLP_* (endpoint, headers, timeout) and
// the provider reads OTEL_TRACES_SAMPLER(_ARG).
import { trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { context } from '@opentelemetry/api';

export function tracingWanted(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true') return false;
  const exporters = env.OTEL_TRACES_EXPORTER?.split(',').map((s) => s.trim());
  if (exporters !== undefined) return exporters.includes('otlp');
  return (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT) !== undefined;
}

/** An OTLP-exporting provider when the environment asks for one, also made the global provider. */
export function tracerProviderFromEnv(env: NodeJS.ProcessEnv = process.env): BasicTracerProvider | undefined {
  if (!tracingWanted(env)) return undefined;
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ 'service.name': env.OTEL_SERVICE_NAME ?? 'junction' }),
    spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())],
  });
  // For libraries that look up the global provider and active context; Junction itself passes contexts explicitly.
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  return provider;
}

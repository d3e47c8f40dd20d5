// A minimal OpenTelemetry Collector (Apache-2.0) used as the sandbox's log shipper: it tails the
// per-component log files under the sandbox's logs dir and sends them to VictoriaLogs over OTLP/HTTP
// (VictoriaLogs's own vlagent cannot tail arbitrary files). Instead of a contrib distribution's
// ~200 components it links only the five below, which keeps the build to a few minutes and the
// binary small. Built by scripts/install-observability-tools.sh; example-config.yaml shows a config.
package main

import (
	"log"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/otlphttpexporter"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/otelcol"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/batchprocessor"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/service/telemetry/otelconftelemetry"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/open-telemetry/opentelemetry-collector-contrib/receiver/filelogreceiver"
)

// version: the collector release the modules in go.mod are pinned to (shown by --version)
const version = "0.165.0"

func components() (otelcol.Factories, error) {
	var err error
	f := otelcol.Factories{}
	// filelog: tails the *.log files; its stanza operators parse JSON lines, set severity and
	// timestamp and move the file name into the `component` resource attribute, so no
	// attributes/resource/transform processor is needed.
	if f.Receivers, err = otelcol.MakeFactoryMap[receiver.Factory](filelogreceiver.NewFactory()); err != nil {
		return f, err
	}
	// file_storage: keeps filelog's read offsets on disk, so a restarted collector resumes where
	// it stopped instead of re-sending every file from the beginning.
	if f.Extensions, err = otelcol.MakeFactoryMap[extension.Factory](filestorage.NewFactory()); err != nil {
		return f, err
	}
	// batch: one OTLP request per second (or per 1000 lines) instead of one per read.
	if f.Processors, err = otelcol.MakeFactoryMap[processor.Factory](batchprocessor.NewFactory()); err != nil {
		return f, err
	}
	// otlphttp: VictoriaLogs ingests OTLP logs (protobuf over HTTP) at /insert/opentelemetry/v1/logs.
	if f.Exporters, err = otelcol.MakeFactoryMap[exporter.Factory](otlphttpexporter.NewFactory()); err != nil {
		return f, err
	}
	// the collector's own logs and metrics (a Prometheus endpoint on loopback: its health check)
	f.Telemetry = otelconftelemetry.NewFactory()
	return f, nil
}

func main() {
	settings := otelcol.CollectorSettings{
		BuildInfo: component.BuildInfo{
			Command:     "otelcol",
			Description: "cloud-sandbox log shipper (filelog -> batch -> otlphttp)",
			Version:     version,
		},
		Factories: components,
		ConfigProviderSettings: otelcol.ConfigProviderSettings{
			ResolverSettings: confmap.ResolverSettings{
				// --config=FILE (file: is the default scheme); ${env:NAME} inside it
				ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
				DefaultScheme:     "env",
			},
		},
	}
	if err := otelcol.NewCommand(settings).Execute(); err != nil {
		log.Fatal(err)
	}
}

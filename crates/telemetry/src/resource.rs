//! The resource every signal carries: who is speaking (`service.name`, `service.version`,
//! `deployment.environment.name`) and the SDK's own name and version.

use opentelemetry::KeyValue;
use opentelemetry_sdk::{
    Resource,
    resource::{EnvResourceDetector, SdkProvidedResourceDetector, TelemetryResourceDetector},
};

use crate::semconv::{DEPLOYMENT_ENVIRONMENT_NAME, SERVICE_NAME, SERVICE_VERSION};

/// Our defaults first, then `OTEL_RESOURCE_ATTRIBUTES`, then `OTEL_SERVICE_NAME`: later wins, so
/// the environment always overrides the code.
pub(crate) fn from_env(
    default_service_name: &'static str,
    service_version: &'static str,
) -> Resource {
    let mut builder = Resource::builder_empty()
        .with_detector(Box::new(TelemetryResourceDetector))
        .with_attributes([
            KeyValue::new(SERVICE_NAME, default_service_name),
            KeyValue::new(SERVICE_VERSION, service_version),
            KeyValue::new(DEPLOYMENT_ENVIRONMENT_NAME, "development"),
        ])
        .with_detector(Box::new(EnvResourceDetector::new()));
    if std::env::var("OTEL_SERVICE_NAME").is_ok_and(|name| !name.trim().is_empty()) {
        builder = builder.with_detector(Box::new(SdkProvidedResourceDetector));
    }
    builder.build()
}

package org.orpo4j.tracking;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Map;

/**
 * Where and as whom {@code reportTo mlflow} reports, from MLflow's own environment variables (as HF's MLflowCallback
 * and MLflow's clients read them): {@code MLFLOW_TRACKING_URI} (an http(s) tracking server), {@code
 * MLFLOW_EXPERIMENT_NAME} (created when missing; MLflow's Default experiment when unset), {@code MLFLOW_RUN_ID} (log
 * into that run instead of a new one), {@code MLFLOW_TRACKING_USERNAME}/{@code MLFLOW_TRACKING_PASSWORD} or {@code
 * MLFLOW_TRACKING_TOKEN}, and {@code MLFLOW_TRACKING_INSECURE_TLS}.
 */
public record MlflowSettings(URI trackingUri, String experimentName, String runId, String username, String password,
        String token, boolean insecureTls) {

    /** The settings the environment gives; a missing or non-http(s) tracking URI is refused in one line. */
    public static MlflowSettings fromEnvironment(Map<String, String> env) {
        String uri = blankToNull(env.get("MLFLOW_TRACKING_URI"));
        if (uri == null) {
            throw new IllegalArgumentException("MLFLOW_TRACKING_URI is not set: give the address of an MLflow tracking"
                    + " server (e.g. http://localhost:5000)");
        }
        URI parsed;
        try {
            parsed = new URI(uri.strip());
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("MLFLOW_TRACKING_URI " + uri + " is not a URI: " + e.getMessage());
        }
        String scheme = parsed.getScheme() == null ? "" : parsed.getScheme().toLowerCase(java.util.Locale.ROOT);
        if (!scheme.equals("http") && !scheme.equals("https") || parsed.getHost() == null) {
            throw new IllegalArgumentException("MLFLOW_TRACKING_URI " + uri + ": orpo4j reports to an MLflow tracking"
                    + " server over http(s); for a local store run 'mlflow server' on it and give its address");
        }
        return new MlflowSettings(parsed, blankToNull(env.get("MLFLOW_EXPERIMENT_NAME")),
                blankToNull(env.get("MLFLOW_RUN_ID")), blankToNull(env.get("MLFLOW_TRACKING_USERNAME")),
                blankToNull(env.get("MLFLOW_TRACKING_PASSWORD")), blankToNull(env.get("MLFLOW_TRACKING_TOKEN")),
                "true".equalsIgnoreCase(env.get("MLFLOW_TRACKING_INSECURE_TLS")));
    }

    /** The tracking URI without a trailing slash, the base of REST paths. */
    String base() {
        String s = trackingUri.toString();
        return s.endsWith("/") ? s.substring(0, s.length() - 1) : s;
    }

    /** The HTTP Authorization header these credentials give, or null. */
    String authorization() {
        if (token != null) {
            return "Bearer " + token;
        }
        if (username != null && password != null) {
            return "Basic " + java.util.Base64.getEncoder().encodeToString((username + ":" + password)
                    .getBytes(java.nio.charset.StandardCharsets.UTF_8));
        }
        return null;
    }

    /** The address and names, never the credentials. */
    @Override
    public String toString() {
        return "MlflowSettings[" + trackingUri + ", experiment " + experimentName + ", run " + runId
                + (authorization() == null ? "" : ", with credentials") + "]";
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s;
    }
}

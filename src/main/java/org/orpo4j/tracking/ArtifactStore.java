package org.orpo4j.tracking;

import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

/**
 * Where a run's artifacts go, from the run's artifact URI: through the tracking server's artifact proxy
 * ({@code mlflow-artifacts:}, what {@code mlflow server} gives runs by default) with one HTTP PUT per file, as
 * MLflow's Python client uploads them; or into a folder this machine sees ({@code file:} or a path). Other stores
 * (s3:, gs:, dbfs: ...) need MLflow's Python client: {@link #of} says so and nothing is uploaded. (MLflow's Java
 * client uploads by running the Python {@code mlflow} command, which orpo4j does not require.)
 */
final class ArtifactStore {

    /** An HTTP answer other than 2xx. */
    static final class HttpStatusException extends IOException {
        private final int status;

        HttpStatusException(int status, String message) {
            super(message);
            this.status = status;
        }

        int status() {
            return status;
        }
    }

    private static final String PROXY = "/api/2.0/mlflow-artifacts/artifacts";

    private final URI proxyRoot; // http(s) root of the run's artifacts, or null
    private final Path folder; // local root, or null
    private final HttpClient http;
    private final String authorization;
    private final Runnable progress;

    private ArtifactStore(URI proxyRoot, Path folder, HttpClient http, String authorization, Runnable progress) {
        this.proxyRoot = proxyRoot;
        this.folder = folder;
        this.http = http;
        this.authorization = authorization;
        this.progress = progress;
    }

    /**
     * The store of a run whose artifact URI is {@code artifactUri}; {@code progress} is told as upload bytes go out.
     *
     * @throws IllegalArgumentException naming the URI when orpo4j cannot write there
     */
    static ArtifactStore of(String artifactUri, MlflowSettings settings, HttpClient http, Runnable progress) {
        URI uri;
        try {
            uri = new URI(artifactUri);
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException("artifact URI " + artifactUri + " is not a URI");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme();
        if (scheme.equals("mlflow-artifacts")) {
            URI server = uri.getAuthority() == null ? settings.trackingUri()
                    : URI.create(settings.trackingUri().getScheme() + "://" + uri.getAuthority());
            String base = server.toString().endsWith("/") && uri.getAuthority() == null
                    ? server.toString().substring(0, server.toString().length() - 1) : server.toString();
            String path = uri.getPath().startsWith("/") ? uri.getPath() : "/" + uri.getPath();
            return new ArtifactStore(URI.create(base + PROXY + encode(path)), null, http, settings.authorization(),
                    progress);
        }
        if (scheme.isEmpty() || scheme.equals("file")) {
            return new ArtifactStore(null, Path.of(scheme.isEmpty() ? artifactUri : uri.getPath()), http, null,
                    progress);
        }
        throw new IllegalArgumentException("the run's artifact store " + artifactUri + " needs MLflow's Python client;"
                + " orpo4j uploads through the tracking server's artifact proxy (mlflow server --serve-artifacts, the"
                + " default) or into a local folder");
    }

    /** Uploads {@code file} as {@code name} (a relative path with '/'). */
    void put(String name, Path file) throws IOException, InterruptedException {
        if (folder != null) {
            Path target = folder.resolve(name);
            Files.createDirectories(target.getParent());
            Files.copy(file, target, StandardCopyOption.REPLACE_EXISTING);
            return;
        }
        long size = Files.size(file);
        send(name, HttpRequest.BodyPublishers.fromPublisher(HttpRequest.BodyPublishers.ofInputStream(
                () -> counting(file)), size));
    }

    /** Uploads {@code bytes} as {@code name}. */
    void put(String name, byte[] bytes) throws IOException, InterruptedException {
        if (folder != null) {
            Path target = folder.resolve(name);
            Files.createDirectories(target.getParent());
            Files.write(target, bytes);
            return;
        }
        send(name, HttpRequest.BodyPublishers.ofByteArray(bytes));
    }

    private void send(String name, HttpRequest.BodyPublisher body) throws IOException, InterruptedException {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(proxyRoot + encode("/" + name))).PUT(body);
        if (authorization != null) {
            request.header("Authorization", authorization);
        }
        HttpResponse<String> answer = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        if (answer.statusCode() / 100 != 2) {
            String text = answer.body().strip();
            throw new HttpStatusException(answer.statusCode(), "upload of " + name + ": HTTP " + answer.statusCode()
                    + (text.isEmpty() ? "" : " " + text.substring(0, Math.min(200, text.length()))));
        }
    }

    private InputStream counting(Path file) {
        try {
            return new FilterInputStream(Files.newInputStream(file)) {
                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    int n = super.read(b, off, len);
                    progress.run();
                    return n;
                }
            };
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** {@code path} with each segment percent-encoded as a URI path. */
    private static String encode(String path) {
        try {
            return new URI(null, null, path, null).getRawPath();
        } catch (URISyntaxException e) {
            throw new IllegalArgumentException(path, e);
        }
    }
}

package org.orpo4j.hub;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.orpo4j.runtime.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The hub's HTTP API, as huggingface_hub speaks it: {@code /api/<models|datasets>/<repo>/revision/<rev>} for a
 * revision's commit and file list, {@code /<datasets/><repo>/resolve/<commit>/<file>} for a file (its {@code ETag}
 * or, for LFS files, {@code X-Linked-Etag} = sha256, and a redirect to the CDN). Downloads resume after a cut
 * ({@code Range}), check size and sha256, and land in the cache by rename only when complete. The token
 * ({@code HF_TOKEN}, else the token file) goes to the hub's own scheme, host and port only: never to the CDN a
 * redirect names, never over http to a hub reached over https. What the hub answers is checked before it touches
 * the disk: blob names must be sha1 or sha256 ETags, file names relative paths inside the repository.
 */
public final class HubClient {

    private static final Logger LOG = LoggerFactory.getLogger(HubClient.class);
    private static final int ATTEMPTS = 3;
    /** What a blob may be named: a git sha1 (small files) or an LFS sha256. */
    private static final java.util.regex.Pattern BLOB_NAME = java.util.regex.Pattern.compile("[0-9a-f]{40}|[0-9a-f]{64}");

    private final URI endpoint;
    private final String token; // nullable
    private final HttpClient http;
    private final long progressEveryNanos;

    HubClient(URI endpoint, String token, long progressEveryNanos) {
        this.endpoint = endpoint;
        this.token = token;
        this.progressEveryNanos = progressEveryNanos;
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(20)).build();
    }

    /** {@code HF_ENDPOINT} (default https://huggingface.co) and {@code HF_TOKEN} or the token file under HF_HOME. */
    public static HubClient fromEnvironment(Map<String, String> env) throws IOException {
        String endpoint = env.getOrDefault("HF_ENDPOINT", "https://huggingface.co");
        String token = env.get("HF_TOKEN");
        if (token == null || token.isBlank()) {
            Path file = env.containsKey("HF_TOKEN_PATH") ? Path.of(env.get("HF_TOKEN_PATH"))
                    : HubCache.home(env).resolve("token");
            token = Files.isRegularFile(file) ? Files.readString(file, StandardCharsets.UTF_8).trim() : null;
        }
        return new HubClient(URI.create(endpoint.endsWith("/") ? endpoint : endpoint + "/"),
                token == null || token.isBlank() ? null : token, 5_000_000_000L);
    }

    /** A revision's commit hash and its files. */
    public record Revision(String commit, List<String> files) {}

    /** The commit {@code id}'s revision points at, and the files it holds. */
    public Revision revision(RepoId id) throws IOException {
        URI uri = endpoint.resolve("api/" + id.type().plural + "/" + id.name() + "/revision/" + id.revision());
        HttpResponse<byte[]> response = send(id, "the file list", HttpRequest.newBuilder(uri).GET(),
                HttpResponse.BodyHandlers.ofByteArray());
        JsonNode json = Json.untrusted().readTree(response.body());
        String commit = json.path("sha").asText("");
        if (!commit.matches("[0-9a-f]{40}")) {
            throw new HubException(id + ": the hub answered no commit for revision " + id.revision());
        }
        List<String> files = new ArrayList<>();
        for (JsonNode sibling : json.path("siblings")) {
            String name = sibling.path("rfilename").asText();
            if (!RepoFiles.safe(name)) {
                throw new HubException(id + ": the hub lists an unsafe file name '" + HubErrors.printable(name)
                        + "' (absolute, '..', backslash or control characters); refusing the repository");
            }
            files.add(name);
        }
        return new Revision(commit, files);
    }

    /**
     * Downloads {@code file} of {@code id} at {@code commit} into the cache (blob, then the snapshot's link),
     * unless the blob is already there; resumes a partial download, retries twice on a network failure.
     */
    public void download(RepoId id, String commit, String file, HubCache cache) throws IOException {
        URI uri = endpoint.resolve(id.type().urlPrefix + id.name() + "/resolve/" + commit + "/" + file);
        HttpResponse<Void> head = send(id, file, HttpRequest.newBuilder(uri).method("HEAD",
                HttpRequest.BodyPublishers.noBody()), HttpResponse.BodyHandlers.discarding());
        String etag = etag(head).orElseThrow(() -> new HubException(id + ": " + file + ": the hub sent no ETag"));
        if (!BLOB_NAME.matcher(etag).matches()) {
            throw new HubException(id + ": " + file + ": the hub sent ETag '" + HubErrors.printable(etag)
                    + "', neither a sha1 nor a sha256; refusing to use it as a file name");
        }
        long size = head.headers().firstValueAsLong("X-Linked-Size")
                .orElse(head.headers().firstValueAsLong("Content-Length").orElse(-1));
        URI source = redirect(id, file, uri, head);
        Path blob = cache.blob(id, etag);
        if (!Files.isRegularFile(blob) || (size >= 0 && Files.size(blob) != size)) {
            fetch(id, file, source, blob, etag, size);
        }
        cache.link(id, commit, file, etag);
    }

    /** Where a HEAD answer sends the download: its {@code Location}, which must be an http(s) URL, or {@code uri}. */
    private static URI redirect(RepoId id, String file, URI uri, HttpResponse<?> head) throws HubException {
        Optional<String> location = head.headers().firstValue("Location");
        if (location.isEmpty()) {
            return uri;
        }
        try {
            URI target = uri.resolve(location.get());
            if (("http".equalsIgnoreCase(target.getScheme()) || "https".equalsIgnoreCase(target.getScheme()))
                    && target.getHost() != null) {
                return target;
            }
        } catch (IllegalArgumentException e) {
            // not a URI: refused below
        }
        throw new HubException(id + ": " + file + ": the hub redirected to '" + HubErrors.printable(location.get())
                + "', not an http(s) URL");
    }

    /** GETs {@code source} into {@code blob} through {@code blob.incomplete}, resuming what an earlier try left. */
    private void fetch(RepoId id, String file, URI source, Path blob, String etag, long size) throws IOException {
        Files.createDirectories(blob.getParent());
        Path partial = blob.resolveSibling(blob.getFileName() + ".incomplete");
        IOException last = null;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            long have = Files.exists(partial) ? Files.size(partial) : 0;
            try {
                HttpRequest.Builder request = HttpRequest.newBuilder(source).GET();
                if (have > 0) {
                    request.header("Range", "bytes=" + have + "-");
                }
                HttpResponse<InputStream> response = send(id, file, request, HttpResponse.BodyHandlers.ofInputStream());
                boolean resumed = response.statusCode() == 206;
                try (InputStream in = response.body(); OutputStream out = Files.newOutputStream(partial,
                        StandardOpenOption.CREATE, resumed ? StandardOpenOption.APPEND
                                : StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE)) {
                    copy(in, out, resumed ? have : 0, size, id + " " + file);
                }
                verify(id, file, partial, etag, size);
                Files.move(partial, blob, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
                return;
            } catch (HubException e) {
                throw e;
            } catch (IOException e) {
                last = e;
                LOG.warn("{}: {}: download interrupted ({}); {}", id, file, e.getMessage(),
                        attempt < ATTEMPTS ? "resuming" : "giving up");
                if (attempt < ATTEMPTS) {
                    sleep(attempt);
                }
            }
        }
        throw new HubException(id + ": " + file + ": download failed after " + ATTEMPTS + " attempts: "
                + last.getMessage() + " (the partial file is kept and resumed next time)");
    }

    private void copy(InputStream in, OutputStream out, long start, long size, String what) throws IOException {
        byte[] buffer = new byte[1 << 16];
        long done = start;
        long t0 = System.nanoTime();
        long lastReport = t0;
        for (int n; (n = in.read(buffer)) >= 0; ) {
            out.write(buffer, 0, n);
            done += n;
            long now = System.nanoTime();
            if (now - lastReport > progressEveryNanos) {
                lastReport = now;
                double rate = (done - start) / ((now - t0) / 1e9) / (1 << 20);
                LOG.info("{}: {} of {} MB ({} MB/s)", what, String.format("%.1f", done / 1048576.0),
                        size < 0 ? "?" : String.format("%.1f", size / 1048576.0), String.format("%.1f", rate));
            }
        }
    }

    /** Size, and sha256 when the ETag is one (LFS files); a mismatch removes the file and fails for good. */
    private static void verify(RepoId id, String file, Path partial, String etag, long size) throws IOException {
        long got = Files.size(partial);
        if (size >= 0 && got != size) {
            throw new IOException("got " + got + " of " + size + " bytes");
        }
        if (etag.matches("[0-9a-f]{64}")) {
            String sha = sha256(partial);
            if (!sha.equals(etag)) {
                Files.delete(partial);
                throw new HubException(id + ": " + file + ": sha256 " + sha + " differs from the hub's " + etag
                        + "; the download was discarded");
            }
        }
    }

    private static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = in.read(buffer)) >= 0; ) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** {@code X-Linked-Etag} (LFS) or {@code ETag}, without quotes or a weak marker. */
    private static Optional<String> etag(HttpResponse<?> response) {
        return response.headers().firstValue("X-Linked-Etag").or(() -> response.headers().firstValue("ETag"))
                .map(e -> e.replaceFirst("^W/", "").replace("\"", ""));
    }

    /** True when {@code uri} is the hub's own scheme, host and port: the only place the token goes. */
    boolean sendsTokenTo(URI uri) {
        return token != null && endpoint.getScheme().equalsIgnoreCase(uri.getScheme()) && uri.getHost() != null
                && uri.getHost().equalsIgnoreCase(endpoint.getHost()) && port(uri) == port(endpoint);
    }

    private static int port(URI uri) {
        return uri.getPort() >= 0 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    /** Sends with the token where {@link #sendsTokenTo} allows; maps error answers to one-line errors. */
    private <T> HttpResponse<T> send(RepoId id, String what, HttpRequest.Builder request,
            HttpResponse.BodyHandler<T> body) throws IOException {
        HttpRequest built = request.build();
        boolean tokenSent = sendsTokenTo(built.uri());
        if (tokenSent) {
            request.header("Authorization", "Bearer " + token);
            built = request.build();
        }
        HttpResponse<T> response;
        try {
            response = http.send(built, body);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        int code = response.statusCode();
        if (code >= 500) {
            throw new IOException("HTTP " + code + " from " + built.uri().getHost());
        }
        if (code >= 400) {
            throw HubErrors.of(id, what, response, tokenSent, endpoint.toString());
        }
        return response;
    }

    private static void sleep(int attempt) {
        try {
            Thread.sleep(500L * attempt);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

package org.orpo4j.hub;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.function.Supplier;
import org.orpo4j.runtime.Json;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The requests of an upload: the token only to the hub's own scheme, host and port (an LFS upload URL elsewhere
 * gets none), network failures and 5xx answers retried with a pause (a request is only ever retried whole, so a
 * retry is as safe as the first try), 4xx answers turned into one-line {@link HubException}s.
 */
final class HubHttp {

    private static final Logger LOG = LoggerFactory.getLogger(HubHttp.class);
    static final int ATTEMPTS = 4;

    final URI endpoint;
    private final String token;
    private final HttpClient http;
    private final long pauseMillis;

    HubHttp(URI endpoint, String token, long pauseMillis) {
        this.endpoint = endpoint;
        this.token = token;
        this.pauseMillis = pauseMillis;
        this.http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(20)).build();
    }

    boolean hasToken() {
        return token != null;
    }

    URI resolve(String path) {
        return endpoint.resolve(path);
    }

    /** POSTs JSON and returns the answer's JSON (null for an empty body); {@code okCodes} beyond 2xx pass too. */
    JsonNode postJson(RepoId id, String what, URI uri, Object body, String contentType, int... okCodes)
            throws IOException {
        byte[] bytes = Json.untrusted().writeValueAsBytes(body);
        HttpResponse<byte[]> r = send(id, what, () -> HttpRequest.newBuilder(uri)
                .header("Content-Type", contentType).header("Accept", contentType.contains("lfs") ? contentType
                        : "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(bytes)), HttpResponse.BodyHandlers.ofByteArray(),
                okCodes);
        return r.body().length == 0 ? null : Json.untrusted().readTree(r.body());
    }

    /**
     * Sends a request built afresh for each attempt (a body stream cannot be replayed), retrying network failures
     * and 5xx answers; returns the first answer below 400 or listed in {@code okCodes}.
     */
    <T> HttpResponse<T> send(RepoId id, String what, Supplier<HttpRequest.Builder> request,
            HttpResponse.BodyHandler<T> body, int... okCodes) throws IOException {
        IOException last = null;
        for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
            HttpRequest.Builder b = request.get();
            HttpRequest built = b.build();
            boolean tokenSent = sendsTokenTo(built.uri());
            if (tokenSent) {
                built = b.header("Authorization", "Bearer " + token).build();
            }
            try {
                HttpResponse<T> response = http.send(built, body);
                int code = response.statusCode();
                for (int ok : okCodes) {
                    if (code == ok) {
                        return response;
                    }
                }
                if (code >= 500) {
                    throw new IOException("HTTP " + code + " from " + built.uri().getHost());
                }
                if (code >= 400) {
                    throw HubErrors.of(id, what, response, tokenSent, endpoint.toString());
                }
                return response;
            } catch (HubException e) {
                throw e;
            } catch (IOException e) {
                last = e;
                LOG.warn("{}: {}: {} ({}); {}", id, what, e.getMessage() == null ? e.getClass().getSimpleName()
                        : e.getMessage(), "attempt " + attempt + " of " + ATTEMPTS,
                        attempt < ATTEMPTS ? "retrying" : "giving up");
                if (attempt < ATTEMPTS) {
                    pause(attempt);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted", e);
            }
        }
        throw new HubException(id + ": " + what + ": failed after " + ATTEMPTS + " attempts: " + last.getMessage()
                + " (run the push again: files the hub holds already are not sent twice)");
    }

    /** True when {@code uri} is the hub's own scheme, host and port: the only place the token goes. */
    boolean sendsTokenTo(URI uri) {
        return token != null && endpoint.getScheme().equalsIgnoreCase(uri.getScheme()) && uri.getHost() != null
                && uri.getHost().equalsIgnoreCase(endpoint.getHost()) && port(uri) == port(endpoint);
    }

    private static int port(URI uri) {
        return uri.getPort() >= 0 ? uri.getPort() : "https".equalsIgnoreCase(uri.getScheme()) ? 443 : 80;
    }

    private void pause(int attempt) {
        try {
            Thread.sleep(pauseMillis * attempt);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

package org.orpo4j.hub;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Large files through the hub's git LFS batch API ({@code <repo>.git/info/lfs/objects/batch}), as huggingface_hub
 * sends them: the batch answer lists, per object, no actions when the hub has the bytes already (nothing is sent),
 * else an upload action: one PUT of the whole file ({@code basic}), or, when its header carries a
 * {@code chunk_size} and numbered part URLs, one PUT per part and a completion POST with the parts' ETags
 * ({@code multipart}); then the optional verify POST. Each part is retried on its own, so a cut costs one part.
 */
final class LfsTransfer {

    private static final String LFS_JSON = "application/vnd.git-lfs+json";

    private final HubHttp http;
    private final RepoId repo;
    private final UploadProgress progress;

    LfsTransfer(HubHttp http, RepoId repo, UploadProgress progress) {
        this.http = http;
        this.repo = repo;
        this.progress = progress;
    }

    /** Uploads the files whose bytes the hub lacks; returns how many it had to send. */
    int upload(List<UploadFile> files) throws IOException {
        if (files.isEmpty()) {
            return 0;
        }
        ObjectNode payload = JsonNodeFactory.instance.objectNode();
        payload.put("operation", "upload");
        payload.putArray("transfers").add("basic").add("multipart");
        ArrayNode objects = payload.putArray("objects");
        Map<String, UploadFile> byOid = new TreeMap<>();
        for (UploadFile f : files) {
            objects.addObject().put("oid", f.sha256()).put("size", f.size());
            byOid.put(f.sha256(), f);
        }
        payload.put("hash_algo", "sha256");
        payload.putObject("ref").put("name", repo.revision());
        URI batch = http.resolve(repo.name() + ".git/info/lfs/objects/batch");
        JsonNode answer = http.postJson(repo, "LFS batch", batch, payload, LFS_JSON);
        if (answer == null || !answer.path("objects").isArray()) {
            throw new HubException(repo + ": LFS batch: the hub's answer lists no objects");
        }
        int sent = 0;
        for (JsonNode object : answer.get("objects")) {
            UploadFile file = byOid.get(object.path("oid").asText());
            if (file == null) {
                throw new HubException(repo + ": LFS batch: the hub answered for an object not asked for");
            }
            if (object.has("error")) {
                throw new HubException(repo + ": " + file.pathInRepo() + ": LFS error "
                        + object.get("error").path("code").asInt() + ": "
                        + HubErrors.printable(object.get("error").path("message").asText()));
            }
            JsonNode upload = object.path("actions").path("upload");
            if (upload.isMissingNode()) {
                continue; // the hub has these bytes already
            }
            JsonNode header = upload.path("header");
            if (header.has("chunk_size")) {
                multipart(file, upload, header);
            } else {
                basic(file, href(upload));
            }
            JsonNode verify = object.path("actions").path("verify");
            if (!verify.isMissingNode()) {
                ObjectNode body = JsonNodeFactory.instance.objectNode().put("oid", file.sha256()).put("size", file.size());
                http.postJson(repo, file.pathInRepo() + ": LFS verify", href(verify), body, LFS_JSON);
            }
            sent++;
        }
        return sent;
    }

    private void basic(UploadFile file, URI url) throws IOException {
        put(file, url, 0, file.size(), file.pathInRepo());
    }

    private void multipart(UploadFile file, JsonNode upload, JsonNode header) throws IOException {
        long chunk = header.path("chunk_size").asLong(-1);
        if (chunk <= 0) {
            throw new HubException(repo + ": " + file.pathInRepo() + ": LFS chunk_size '"
                    + HubErrors.printable(header.path("chunk_size").asText()) + "' is not a positive integer");
        }
        TreeMap<Integer, URI> parts = new TreeMap<>();
        header.fields().forEachRemaining(e -> {
            if (e.getKey().matches("[0-9]+")) {
                parts.put(Integer.parseInt(e.getKey()), toUri(e.getValue().asText()));
            }
        });
        long expected = (file.size() + chunk - 1) / chunk;
        if (parts.size() != expected) {
            throw new HubException(repo + ": " + file.pathInRepo() + ": the hub gave " + parts.size()
                    + " part URLs for " + expected + " parts of " + chunk + " bytes");
        }
        ArrayNode done = JsonNodeFactory.instance.arrayNode();
        int index = 0;
        for (Map.Entry<Integer, URI> part : parts.entrySet()) {
            long offset = index * chunk;
            long length = Math.min(chunk, file.size() - offset);
            HttpResponse<Void> r = put(file, part.getValue(), offset, length,
                    file.pathInRepo() + " part " + part.getKey());
            String etag = r.headers().firstValue("ETag").orElse("");
            if (etag.isEmpty()) {
                throw new HubException(repo + ": " + file.pathInRepo() + ": part " + part.getKey()
                        + " was stored without an ETag");
            }
            done.addObject().put("partNumber", index + 1).put("etag", etag);
            index++;
        }
        ObjectNode completion = JsonNodeFactory.instance.objectNode().put("oid", file.sha256());
        completion.set("parts", done);
        http.postJson(repo, file.pathInRepo() + ": LFS completion", href(upload), completion, LFS_JSON);
    }

    private HttpResponse<Void> put(UploadFile file, URI url, long offset, long length, String what)
            throws IOException {
        return http.send(repo, what, () -> HttpRequest.newBuilder(url).PUT(HttpRequest.BodyPublishers.fromPublisher(
                HttpRequest.BodyPublishers.ofInputStream(() -> counted(file, offset, length)), length)),
                HttpResponse.BodyHandlers.discarding());
    }

    private InputStream counted(UploadFile file, long offset, long length) {
        try {
            return new FilterInputStream(file.open(offset, length)) {
                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    int n = super.read(b, off, len);
                    if (n > 0) {
                        progress.add(n);
                    }
                    return n;
                }
            };
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private URI href(JsonNode action) throws HubException {
        return toUriChecked(action.path("href").asText(""));
    }

    private URI toUri(String s) {
        try {
            return toUriChecked(s);
        } catch (HubException e) {
            throw new IllegalArgumentException(e.getMessage(), e);
        }
    }

    /** An http(s) URL the hub sent, resolved against the hub (relative hrefs are the hub's own). */
    private URI toUriChecked(String s) throws HubException {
        try {
            URI u = http.endpoint.resolve(s);
            if (("http".equalsIgnoreCase(u.getScheme()) || "https".equalsIgnoreCase(u.getScheme()))
                    && u.getHost() != null) {
                return u;
            }
        } catch (IllegalArgumentException e) {
            // refused below
        }
        throw new HubException(repo + ": the hub sent the upload URL '" + HubErrors.printable(s)
                + "', not an http(s) URL");
    }
}

package org.orpo4j.hub;

import java.net.http.HttpResponse;
import java.util.Optional;

/**
 * The hub's error answers in one line, as huggingface_hub reads them: {@code X-Error-Code} ({@code RepoNotFound},
 * {@code RevisionNotFound}, {@code EntryNotFound}, {@code GatedRepo}) says what is missing, {@code X-Error-Message}
 * says why in the hub's words. Header text comes from the network: control characters are dropped and its length
 * capped before it reaches a terminal.
 */
final class HubErrors {

    private static final int MAX_MESSAGE = 300;

    private HubErrors() {}

    /** The exception for an answer {@code code} >= 400 to a request for {@code what} of {@code id}. */
    static HubException of(RepoId id, String what, HttpResponse<?> response, boolean tokenSent, String endpoint) {
        int code = response.statusCode();
        String errorCode = header(response, "X-Error-Code").orElse("");
        String said = header(response, "X-Error-Message").map(m -> " (the hub says: " + m + ")").orElse("");
        String where = id + ": " + what + ": ";
        if (code == 401 || code == 403) {
            if (errorCode.equals("GatedRepo")) {
                return new HubException(where + "the repository is gated (HTTP " + code + ")" + said + ": accept its"
                        + " terms on the hub with the account of HF_TOKEN" + (tokenSent ? "" : ", and set HF_TOKEN"));
            }
            if (tokenSent) {
                return new HubException(where + "the token was rejected (HTTP " + code + ")" + said + ": check"
                        + " HF_TOKEN (or the token file) and its access to " + id.name());
            }
            return new HubException(where + "access denied (HTTP " + code + ")" + said + ": the repository is"
                    + " gated or private; set HF_TOKEN to a token with access to it");
        }
        if (code == 404) {
            return new HubException(where + switch (errorCode) {
                case "RevisionNotFound" -> "revision '" + id.revision() + "' not found" + said
                        + " (a branch, tag or commit of " + id.name() + ")";
                case "EntryNotFound" -> "no such file in the repository" + said;
                case "RepoNotFound" -> "repository not found on " + endpoint + said
                        + " (check the name; a private repository needs HF_TOKEN)";
                default -> "not found on " + endpoint + said + " (check the name and the revision)";
            });
        }
        return new HubException(where + "HTTP " + code + said);
    }

    /** A header's value made safe to print: printable characters only, at most {@value #MAX_MESSAGE}. */
    static Optional<String> header(HttpResponse<?> response, String name) {
        return response.headers().firstValue(name).map(HubErrors::printable).filter(s -> !s.isBlank());
    }

    static String printable(String text) {
        StringBuilder out = new StringBuilder();
        text.codePoints().filter(c -> !Character.isISOControl(c) && Character.isDefined(c)
                && Character.getType(c) != Character.FORMAT).limit(MAX_MESSAGE).forEach(out::appendCodePoint);
        return out.toString().strip();
    }
}

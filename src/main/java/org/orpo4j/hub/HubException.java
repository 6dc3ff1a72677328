package org.orpo4j.hub;

import java.io.IOException;

/** A hub failure retrying cannot fix (unknown repo, no access, offline with nothing cached, corrupt file). */
public final class HubException extends IOException {

    public HubException(String message) {
        super(message);
    }
}

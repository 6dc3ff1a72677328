package org.orpo4j.data;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/** One chat turn as chat templates see it: {@code {"role": ..., "content": ...}}. */
public record ChatMessage(String role, String content) {

    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }

    /** The message as the dict a Jinja template indexes ({@code message['role']}, {@code message.content}). */
    public Map<String, Object> toMap() {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("role", role);
        m.put("content", content);
        return m;
    }
}

package org.orpo4j.cli;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.JsonParseException;
import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonToken;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.orpo4j.data.ChatMessage;

/**
 * A chat as a JSON file: an array of {@code {"role": ..., "content": ...}} objects, or an object whose
 * {@code messages} field is that array (the shape of an OpenAI request or a conversational dataset row). Errors
 * name the file and the line of the offending message.
 */
final class MessagesFile {

    private static final ObjectMapper JSON = new ObjectMapper();

    private MessagesFile() {}

    static List<ChatMessage> read(Path file) throws IOException {
        Inputs.file(file);
        try (JsonParser p = new JsonFactory(JSON).createParser(file.toFile())) {
            JsonToken first = p.nextToken();
            if (first == JsonToken.START_OBJECT) {
                seekMessagesField(p, file);
            } else if (first != JsonToken.START_ARRAY) {
                throw new IOException(where(file, p) + ": expected a JSON array of messages or {\"messages\": [...]}");
            }
            List<ChatMessage> messages = new ArrayList<>();
            while (p.nextToken() != JsonToken.END_ARRAY) {
                int line = p.currentLocation().getLineNr();
                JsonNode m = p.readValueAsTree();
                messages.add(message(m, file, line, messages.size()));
            }
            if (messages.isEmpty()) {
                throw new IOException(file + ": the message list is empty");
            }
            return messages;
        } catch (JsonParseException e) {
            throw new IOException(file + ":" + e.getLocation().getLineNr() + ": not valid JSON: "
                    + e.getOriginalMessage(), e);
        }
    }

    private static void seekMessagesField(JsonParser p, Path file) throws IOException {
        while (p.nextToken() == JsonToken.FIELD_NAME) {
            String name = p.currentName();
            JsonToken value = p.nextToken();
            if (name.equals("messages")) {
                if (value != JsonToken.START_ARRAY) {
                    throw new IOException(where(file, p) + ": 'messages' must be an array");
                }
                return;
            }
            p.skipChildren();
        }
        throw new IOException(file + ": the object has no 'messages' array");
    }

    private static ChatMessage message(JsonNode m, Path file, int line, int index) throws IOException {
        String at = file + ":" + line + ": messages[" + index + "]";
        if (m == null || !m.isObject()) {
            throw new IOException(at + ": expected an object {\"role\": ..., \"content\": ...}");
        }
        for (String field : new String[] {"role", "content"}) {
            if (!m.path(field).isTextual()) {
                throw new IOException(at + ": '" + field + "' must be a string"
                        + (m.has(field) ? ", got " + m.get(field) : " (missing)"));
            }
        }
        return new ChatMessage(m.get("role").asText(), m.get("content").asText());
    }

    private static String where(Path file, JsonParser p) {
        return file + ":" + p.currentLocation().getLineNr();
    }
}

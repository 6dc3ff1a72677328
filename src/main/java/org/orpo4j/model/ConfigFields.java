package org.orpo4j.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;

/** Typed reads of a config.json object whose errors name the file and the field. */
final class ConfigFields {

    final ObjectNode raw;
    final String source;

    ConfigFields(ObjectNode raw, String source) {
        this.raw = raw;
        this.source = source;
    }

    /** True when the file states the field, null included. */
    boolean has(String field) {
        return raw.has(field);
    }

    int positiveInt(String field) {
        JsonNode node = raw.get(field);
        if (node == null || node.isNull()) {
            throw missing(field);
        }
        int value = asInt(node, field);
        if (value <= 0) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be positive, got " + value);
        }
        return value;
    }

    Integer optInt(String field) {
        JsonNode node = raw.get(field);
        return node == null || node.isNull() ? null : asInt(node, field);
    }

    /** An int or a list of ints ({@code eos_token_id} takes both forms), as a list; empty when absent or null. */
    java.util.List<Integer> optIntList(String field) {
        JsonNode node = raw.get(field);
        if (node == null || node.isNull()) {
            return java.util.List.of();
        }
        if (!node.isArray()) {
            return java.util.List.of(asInt(node, field));
        }
        java.util.List<Integer> ids = new java.util.ArrayList<>();
        for (JsonNode id : node) {
            ids.add(asInt(id, field));
        }
        return java.util.Collections.unmodifiableList(ids);
    }

    int asInt(JsonNode node, String field) {
        if (!node.isIntegralNumber() || !node.canConvertToInt()) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be an integer, got " + node);
        }
        return node.intValue();
    }

    double optDouble(JsonNode obj, String field, double fallback) {
        JsonNode node = obj.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isNumber()) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be a number, got " + node);
        }
        return node.doubleValue();
    }

    double optDouble(String field, double fallback) {
        return optDouble(raw, field, fallback);
    }

    /**
     * A soft-cap: a positive number, null when the file states null, {@code fallback} when it does not state the
     * field at all.
     */
    Double optSoftcap(String field, Double fallback) {
        Double cap = !raw.has(field) ? fallback : raw.get(field).isNull() ? null : optDouble(field, Double.NaN);
        if (cap != null && !(cap > 0)) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be positive, got " + cap);
        }
        return cap;
    }

    double requiredDouble(JsonNode obj, String field, String prefix) {
        JsonNode node = obj.get(field);
        if (node == null || node.isNull()) {
            throw missing(prefix + field);
        }
        if (!node.isNumber()) {
            throw new IllegalArgumentException(source + ": field '" + prefix + field + "' must be a number, got "
                    + node);
        }
        return node.doubleValue();
    }

    boolean optBool(String field, boolean fallback) {
        JsonNode node = raw.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isBoolean()) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be true or false, got " + node);
        }
        return node.booleanValue();
    }

    String optText(String field, String fallback) {
        JsonNode node = raw.get(field);
        if (node == null || node.isNull()) {
            return fallback;
        }
        if (!node.isTextual()) {
            throw new IllegalArgumentException(source + ": field '" + field + "' must be a string, got " + node);
        }
        return node.asText();
    }

    IllegalArgumentException missing(String field) {
        return new IllegalArgumentException(source + ": missing required field '" + field + "'");
    }
}

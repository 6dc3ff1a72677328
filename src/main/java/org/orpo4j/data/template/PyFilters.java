package org.orpo4j.data.template;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.AdvancedFilter;
import java.util.List;
import java.util.Map;

/** Filters whose Jinjava versions differ from what transformers' Jinja2 environment does. */
final class PyFilters {

    private PyFilters() {}

    /** transformers' {@code tojson}: json.dumps(x, ensure_ascii=False, indent, separators, sort_keys). */
    static final class ToJson implements AdvancedFilter {
        @Override
        public String getName() {
            return "tojson";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object ensureAscii = kwargs.getOrDefault("ensure_ascii", Boolean.FALSE);
            Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
            Object separators = kwargs.get("separators");
            Object sortKeys = kwargs.getOrDefault("sort_keys", Boolean.FALSE);
            String indentText = indent == null ? null
                    : indent instanceof Number n ? " ".repeat(n.intValue()) : indent.toString();
            String item = null;
            String key = null;
            if (separators != null) {
                List<?> pair = PyValues.asList(separators);
                if (pair == null || pair.size() != 2) {
                    throw new IllegalArgumentException("tojson: separators must be a pair of strings");
                }
                item = String.valueOf(pair.get(0));
                key = String.valueOf(pair.get(1));
            }
            return new PyJson(Boolean.TRUE.equals(ensureAscii), indentText, item, key, Boolean.TRUE.equals(sortKeys))
                    .dumps(var);
        }
    }

    /** Jinja2's {@code trim(value, chars=None)} = Python {@code str.strip}, Unicode whitespace included. */
    static final class Trim implements AdvancedFilter {
        @Override
        public String getName() {
            return "trim";
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            Object chars = kwargs.getOrDefault("chars", args.length > 0 ? args[0] : null);
            return PyStr.strip(var == null ? "None" : var.toString(), chars == null ? null : chars.toString(),
                    true, true);
        }
    }

    /** Jinja2's {@code length}/{@code count}: Python {@code len}, so strings count code points, not UTF-16 units. */
    static final class Length implements AdvancedFilter {
        private final String name;

        Length(String name) {
            this.name = name;
        }

        @Override
        public String getName() {
            return name;
        }

        @Override
        public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
            if (var instanceof CharSequence s) {
                return s.toString().codePointCount(0, s.length());
            }
            if (var instanceof Map<?, ?> m) {
                return m.size();
            }
            List<?> list = PyValues.asList(var);
            if (list == null) {
                throw new IllegalArgumentException("object of type '" + PyValues.typeName(var) + "' has no len()");
            }
            return list.size();
        }
    }
}

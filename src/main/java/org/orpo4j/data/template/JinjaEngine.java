package org.orpo4j.data.template;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.LegacyOverrides;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.el.TruthyTypeConverter;
import com.hubspot.jinjava.interpret.Context;
import com.hubspot.jinjava.interpret.Context.Library;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import com.hubspot.jinjava.tree.Node;
import java.time.Clock;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import jinjava.de.odysseus.el.ExpressionFactoryImpl;
import jinjava.de.odysseus.el.tree.TreeBuilder;
import jinjava.javax.el.CompositeELResolver;
import jinjava.javax.el.ExpressionFactory;

/**
 * Jinjava set up like transformers' chat-template environment (Jinja2 {@code ImmutableSandboxedEnvironment} with
 * trim_blocks, lstrip_blocks and loop controls) plus the extensions listed in docs/data-formats.md: Python
 * slices ({@link PyParser}), str methods ({@link PyMethodResolver}), transformers' tojson, Python trim/length,
 * raise_exception and strftime_now. Thread-safe; one shared instance. Each thread renders with its own Jinjava,
 * because Jinjava's child contexts share their parent's variable-tracking sets, so renders on one global context
 * race.
 *
 * <p>A template comes with a model or a dataset from anywhere, so it is sandboxed: {@code include}, {@code import},
 * {@code from} and {@code extends} are refused (no file is ever read), Java objects expose no methods but the
 * Python str methods, and a render is bounded in output ({@link #MAX_OUTPUT} characters), in ranges and in time
 * ({@link #timeLimitMs}).
 */
public final class JinjaEngine {

    private static final JinjaEngine INSTANCE = new JinjaEngine();

    /** Characters a render may produce (and a string it may build): far above any conversation. */
    static final long MAX_OUTPUT = 64L << 20;
    /**
     * Milliseconds a render may take; checked at every node, and a {@code range} holds at most 100k numbers.
     * Package-visible so tests can shorten it.
     */
    static long timeLimitMs = 10_000;
    private static final ThreadLocal<Long> DEADLINE = new ThreadLocal<>();

    private final JinjavaConfig config;
    private final ThreadLocal<Jinjava> jinjava = ThreadLocal.withInitial(this::newJinjava);
    private final ThreadLocal<Map<String, Node>> parsed = ThreadLocal.withInitial(HashMap::new);

    private JinjaEngine() {
        CompositeELResolver resolver = new CompositeELResolver();
        resolver.add(new PyMethodResolver());
        resolver.add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_WRITE);
        config = JinjavaConfig.newBuilder()
                .withTrimBlocks(true)
                .withLstripBlocks(true)
                .withElResolver(resolver)
                // message text must never be re-parsed as template code
                .withNestedInterpretationEnabled(false)
                .withFailOnUnknownTokens(false)
                .withMaxOutputSize(MAX_OUTPUT)
                .withMaxStringLength(MAX_OUTPUT)
                .withRangeLimit(100_000)
                .withDisabled(Map.of(Library.TAG, Set.of("include", "import", "from", "extends")))
                .withNodePreProcessor((node, interpreter) -> checkDeadline())
                .withLegacyOverrides(LegacyOverrides.newBuilder()
                        .withUseNaturalOperatorPrecedence(false) // Jinja2: `not x is none` == not (x is none)
                        .withIterateOverMapKeys(true) // Jinja2: `for k in dict` yields keys
                        .withParseWhitespaceControlStrictly(true)
                        .withUsePyishObjectMapper(true)
                        .withUseTrimmingForNotesAndExpressions(true) // {{- and {#- strip whitespace too
                        .build())
                .build();
    }

    /** Stops a render that has run past its time limit (an Error, so that no catch in Jinjava swallows it). */
    private static void checkDeadline() {
        Long deadline = DEADLINE.get();
        if (deadline != null && System.nanoTime() - deadline > 0) {
            throw new TimeLimit();
        }
    }

    /**
     * Thrown where a render would build a string longer than {@link #MAX_OUTPUT}: an Error, as {@link TimeLimit},
     * so that Jinjava reports it as itself rather than as a method it could not call.
     */
    static final class OverLimit extends Error {
        OverLimit(String message) {
            super(message, null, false, false);
        }
    }

    /** Thrown out of a render that took longer than {@link #timeLimitMs}. */
    private static final class TimeLimit extends Error {
        TimeLimit() {
            super("the chat template took longer than " + timeLimitMs + " ms to render", null, false,
                    false);
        }
    }

    private Jinjava newJinjava() {
        Jinjava jinjava = new PyJinjava(config);
        jinjava.setResourceLocator((name, encoding, interpreter) -> {
            throw new com.hubspot.jinjava.loader.ResourceNotFoundException("chat templates cannot read files ("
                    + name + ")");
        });
        jinjava.registerFilter(new PyFilters.ToJson());
        jinjava.registerFilter(new PyFilters.Trim());
        jinjava.registerFilter(new PyFilters.Length("length"));
        jinjava.registerFilter(new PyFilters.Length("count"));
        jinjava.registerFunction(new ELFunctionDefinition("", "raise_exception", PyFunctions.class,
                "raiseException", Object.class));
        jinjava.registerFunction(new ELFunctionDefinition("", "strftime_now", PyFunctions.class,
                "strftimeNow", String.class));
        return jinjava;
    }

    /** The shared engine. */
    public static JinjaEngine get() {
        return INSTANCE;
    }

    /** Renders {@code source} with {@code variables}; strftime_now reads the system clock. */
    public String render(String source, Map<String, ?> variables) {
        return render(source, variables, Clock.systemDefaultZone());
    }

    /**
     * Renders {@code source} with {@code variables} and {@code clock} for strftime_now.
     *
     * @throws TemplateException on raise_exception (its message) or any template error (Jinjava's message)
     */
    public String render(String source, Map<String, ?> variables, Clock clock) {
        Jinjava jinjava = this.jinjava.get();
        Node tree = parsed.get().computeIfAbsent(source, this::parse);
        List<TemplateError> errors = new ArrayList<>();
        String output;
        DEADLINE.set(System.nanoTime() + timeLimitMs * 1_000_000);
        try {
            output = PyFunctions.withClock(clock, () -> {
                JinjavaInterpreter interpreter = new JinjavaInterpreter(jinjava,
                        new Context(jinjava.getGlobalContext(), variables, config.getDisabled()), config);
                JinjavaInterpreter.pushCurrent(interpreter);
                try {
                    String out = interpreter.render(tree);
                    errors.addAll(interpreter.getErrorsCopy());
                    return out;
                } finally {
                    JinjavaInterpreter.popCurrent();
                }
            });
        } catch (TimeLimit | OverLimit e) {
            throw new TemplateException(e.getMessage(), false);
        } finally {
            DEADLINE.remove();
        }
        for (TemplateError error : errors) {
            String raised = raisedMessage(error.getException());
            if (raised != null) {
                throw new TemplateException(raised, true);
            }
        }
        for (TemplateError error : errors) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL || refused(error)) {
                throw new TemplateException("line " + error.getLineno() + ": " + error.getMessage(), false);
            }
        }
        return output;
    }

    /** Parses a template once per thread (Jinja2 newline rules applied); its tree serves every later render. */
    private Node parse(String source) {
        Jinjava jinjava = this.jinjava.get();
        JinjavaInterpreter interpreter = new JinjavaInterpreter(jinjava,
                new Context(jinjava.getGlobalContext(), Map.of(), config.getDisabled()), config);
        JinjavaInterpreter.pushCurrent(interpreter);
        try {
            Node tree = interpreter.parse(jinja2Newlines(source));
            for (TemplateError error : interpreter.getErrorsCopy()) {
                if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                    throw new TemplateException("line " + error.getLineno() + ": " + error.getMessage(), false);
                }
            }
            return tree;
        } finally {
            JinjavaInterpreter.popCurrent();
        }
    }

    /** Jinja2's lexer: newlines normalised to \n and one trailing newline dropped (keep_trailing_newline=False). */
    static String jinja2Newlines(String source) {
        String s = source.indexOf('\r') < 0 ? source : source.replace("\r\n", "\n").replace('\r', '\n');
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }

    /** What the sandbox refused (a disabled tag, a file, a too-long output), whatever severity Jinjava gave it. */
    private static boolean refused(TemplateError error) {
        String m = String.valueOf(error.getMessage());
        return switch (error.getReason()) {
            case DISABLED, OUTPUT_TOO_BIG, OVER_LIMIT, COLLECTION_TOO_BIG -> true;
            default -> m.contains("cannot read files");
        };
    }

    private static String raisedMessage(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof PyFunctions.RaisedException r) {
                return r.getMessage();
            }
        }
        return null;
    }

    /** Jinjava whose expression factory builds {@link PyParser}s (and caches parsed expressions). */
    private static final class PyJinjava extends Jinjava {
        private final ExpressionFactory factory;

        PyJinjava(JinjavaConfig config) {
            super(config);
            Properties properties = new Properties();
            properties.setProperty(TreeBuilder.class.getName(), PySyntaxBuilder.class.getName());
            properties.setProperty("jinjava.javax.el.cacheSize", "4096");
            factory = new ExpressionFactoryImpl(properties, new TruthyTypeConverter());
        }

        @Override
        public ExpressionFactory getExpressionFactory() {
            return factory;
        }
    }
}

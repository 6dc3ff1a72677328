package org.orpo4j.data.template;

import com.google.common.collect.Lists;
import com.hubspot.jinjava.el.ext.AstNamedParameter;
import com.hubspot.jinjava.el.ext.CollectionMembershipOperator;
import com.hubspot.jinjava.el.ext.ExtendedParser;
import com.hubspot.jinjava.el.ext.NamedParameterOperator;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import jinjava.de.odysseus.el.tree.impl.Builder;
import jinjava.de.odysseus.el.tree.impl.Scanner.ScanException;
import jinjava.de.odysseus.el.tree.impl.Scanner.Symbol;
import jinjava.de.odysseus.el.tree.impl.Scanner.Token;
import jinjava.de.odysseus.el.tree.impl.ast.AstNode;
import jinjava.de.odysseus.el.tree.impl.ast.AstParameters;
import jinjava.de.odysseus.el.tree.impl.ast.AstProperty;

/**
 * Jinjava's expression parser with Python slices: {@code x[a:b:c]} (any part optional, negative steps) becomes a
 * {@link PySliceNode}. Everything else is Jinjava's own {@code value()} grammar (member access, calls, brackets,
 * and the legacy precedence where {@code |filter} and {@code is test} bind to the value, so that
 * {@code not x is none} means {@code not (x is none)} as in Jinja2); only the bracket branch differs.
 */
final class PyParser extends ExtendedParser {

    private static final Set<Symbol> EXP_TEST_SYMBOLS = EnumSet.of(Symbol.IDENTIFIER, Symbol.EQ, Symbol.NE,
            Symbol.LT, Symbol.LE, Symbol.GT, Symbol.GE, Symbol.TRUE, Symbol.FALSE);

    PyParser(Builder context, String input) {
        super(context, input);
    }

    @Override
    protected AstNode value() throws ScanException, ParseException {
        boolean lvalue = true;
        AstNode v = nonliteral();
        if (v == null) {
            v = literal();
            if (v == null) {
                return null;
            }
            lvalue = false;
        }
        while (true) {
            switch (getToken().getSymbol()) {
                case DOT -> {
                    consumeToken();
                    String name = consumeToken(Symbol.IDENTIFIER).getImage();
                    AstProperty dot = createAstDot(v, name, lvalue);
                    v = getToken().getSymbol() == Symbol.LPAREN ? createAstMethod(dot, params()) : dot;
                }
                case LBRACK -> v = bracket(v, lvalue);
                default -> {
                    return filtersAndTests(v);
                }
            }
        }
    }

    /**
     * Call arguments, where {@code name=value} takes a whole expression as its value (Jinja2), not just the
     * next operand: Jinjava parses {@code namespace(i=xs|length - 1)} as {@code (i=xs|length) - 1}.
     */
    @Override
    protected AstParameters params(Symbol left, Symbol right) throws ScanException, ParseException {
        consumeToken(left);
        List<AstNode> args = new ArrayList<>();
        while (getToken().getSymbol() != right) {
            if (!args.isEmpty()) {
                consumeToken(Symbol.COMMA);
                if (getToken().getSymbol() == right) {
                    break; // trailing comma
                }
            }
            if (getToken().getSymbol() == Symbol.IDENTIFIER && lookahead(0) == NamedParameterOperator.TOKEN) {
                String name = consumeToken().getImage();
                consumeToken(); // =
                args.add(new AstNamedParameter(identifier(name), expr(true)));
            } else {
                args.add(expr(true));
            }
        }
        consumeToken(right);
        return createAstParameters(args);
    }

    /** {@code v[i]}, {@code v[i](...)} or a slice {@code v[a:b]} / {@code v[a:b:c]}. */
    private AstNode bracket(AstNode v, boolean lvalue) throws ScanException, ParseException {
        consumeToken(); // [
        AstNode first = expr(false);
        if (getToken().getSymbol() == Symbol.RBRACK) {
            consumeToken();
            if (first == null) {
                fail("an index");
            }
            AstNode b = createAstBracket(v, first, lvalue, !context.isEnabled(Builder.Feature.NULL_PROPERTIES));
            return getToken().getSymbol() == Symbol.LPAREN
                    ? createAstMethod((AstProperty) b, params()) : b;
        }
        consumeToken(Symbol.COLON);
        AstNode stop = getToken().getSymbol() == Symbol.COLON ? null : expr(false);
        AstNode step = null;
        if (getToken().getSymbol() == Symbol.COLON) {
            consumeToken();
            step = expr(false);
        }
        consumeToken(Symbol.RBRACK);
        return new PySliceNode(v, first, stop, step);
    }

    /** Jinjava's legacy-precedence tail of {@code value()}: a filter chain, or one {@code is [not] test}. */
    private AstNode filtersAndTests(AstNode v) throws ScanException, ParseException {
        if ("|".equals(getToken().getImage()) && lookahead(0).getSymbol() == Symbol.IDENTIFIER) {
            do {
                consumeToken(); // |
                String filterName = consumeToken().getImage();
                List<AstNode> args = Lists.newArrayList(v, interpreter());
                if (getToken().getSymbol() == Symbol.LPAREN) {
                    AstParameters p = params();
                    for (int i = 0; i < p.getCardinality(); i++) {
                        args.add(p.getChild(i));
                    }
                }
                AstProperty filter = createAstDot(identifier(FILTER_PREFIX + filterName), "filter", true);
                v = createAstMethod(filter, createAstParameters(args));
            } while ("|".equals(getToken().getImage()));
        } else if ("is".equals(getToken().getImage()) && "not".equals(lookahead(0).getImage())
                && isTestSymbol(lookahead(1))) {
            consumeToken(); // is
            consumeToken(); // not
            v = test(v, "evaluateNegated");
        } else if ("is".equals(getToken().getImage()) && isTestSymbol(lookahead(0))) {
            consumeToken(); // is
            v = test(v, "evaluate");
        }
        return v;
    }

    private static boolean isTestSymbol(Token token) {
        return EXP_TEST_SYMBOLS.contains(token.getSymbol())
                || token.getSymbol() == CollectionMembershipOperator.TOKEN.getSymbol();
    }

    private AstNode test(AstNode v, String method) throws ScanException, ParseException {
        String testName = consumeToken().getImage();
        List<AstNode> args = Lists.newArrayList(v, interpreter());
        AstNode arg = value();
        if (arg != null) {
            args.add(arg);
        }
        AstProperty test = createAstDot(identifier(EXPTEST_PREFIX + testName), method, true);
        return createAstMethod(test, createAstParameters(args));
    }
}

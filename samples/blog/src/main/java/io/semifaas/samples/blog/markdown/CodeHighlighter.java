package io.semifaas.samples.blog.markdown;

import java.util.Set;

/**
 * A small deterministic lexer that wraps keywords, strings, numbers and comments of C-like code in
 * {@code <span class="tok-...">} elements, the way client-side highlighters would, but on the
 * server. Everything it emits is HTML-escaped.
 */
final class CodeHighlighter {

  private static final Set<String> KEYWORDS =
      Set.of(
          "abstract", "boolean", "break", "byte", "case", "catch", "char", "class", "const",
          "continue", "default", "do", "double", "else", "enum", "extends", "false", "final",
          "finally", "float", "fn", "for", "func", "if", "impl", "implements", "import", "int",
          "interface", "let", "long", "match", "mut", "new", "null", "package", "private",
          "protected", "pub", "public", "record", "return", "self", "short", "static", "struct",
          "super", "switch", "this", "throw", "throws", "true", "try", "use", "val", "var", "void",
          "while");

  private CodeHighlighter() {}

  static String highlight(String code) {
    StringBuilder out = new StringBuilder(code.length() * 2);
    int i = 0;
    int n = code.length();
    while (i < n) {
      char c = code.charAt(i);
      int end;
      String kind;
      if (c == '/' && i + 1 < n && code.charAt(i + 1) == '/') {
        end = code.indexOf('\n', i);
        end = end < 0 ? n : end;
        kind = "comment";
      } else if (c == '/' && i + 1 < n && code.charAt(i + 1) == '*') {
        end = code.indexOf("*/", i + 2);
        end = end < 0 ? n : end + 2;
        kind = "comment";
      } else if (c == '"' || c == '\'') {
        end = stringEnd(code, i, c);
        kind = "string";
      } else if (Character.isDigit(c)) {
        end = i + 1;
        while (end < n
            && (Character.isLetterOrDigit(code.charAt(end)) || code.charAt(end) == '.')) {
          end++;
        }
        kind = "number";
      } else if (Character.isJavaIdentifierStart(c)) {
        end = i + 1;
        while (end < n && Character.isJavaIdentifierPart(code.charAt(end))) {
          end++;
        }
        String word = code.substring(i, end);
        if (KEYWORDS.contains(word)) {
          kind = "keyword";
        } else if (Character.isUpperCase(c)) {
          kind = "type";
        } else if (end < n && code.charAt(end) == '(') {
          kind = "call";
        } else {
          kind = null;
        }
      } else {
        end = i + 1;
        kind = null;
      }
      if (kind == null) {
        escape(code, i, end, out);
      } else {
        out.append("<span class=\"tok-").append(kind).append("\">");
        escape(code, i, end, out);
        out.append("</span>");
      }
      i = end;
    }
    return out.toString();
  }

  private static int stringEnd(String code, int start, char quote) {
    int i = start + 1;
    while (i < code.length()) {
      char c = code.charAt(i);
      if (c == '\\') {
        i += 2;
      } else if (c == quote || c == '\n') {
        return i + 1;
      } else {
        i++;
      }
    }
    return code.length();
  }

  private static void escape(String s, int from, int to, StringBuilder out) {
    for (int i = from; i < to; i++) {
      char c = s.charAt(i);
      switch (c) {
        case '<' -> out.append("&lt;");
        case '>' -> out.append("&gt;");
        case '&' -> out.append("&amp;");
        case '"' -> out.append("&quot;");
        default -> out.append(c);
      }
    }
  }
}

package io.semifaas.samples.blog.markdown;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Finds sentences that nearly repeat an earlier one (edit distance within a fifth of their
 * length), an editing aid shown with each post. Pairwise edit distance makes this the costly part
 * of rendering, quadratic in the number of sentences; bodies are capped in size, so it is bounded.
 */
final class Repetitions {

  private static final int MIN_LENGTH = 20;

  private Repetitions() {}

  /** How many sentences of {@code text} nearly repeat an earlier sentence. */
  static int count(String text) {
    List<String> sentences = sentences(text);
    int repeated = 0;
    for (int j = 1; j < sentences.size(); j++) {
      for (int i = 0; i < j; i++) {
        if (similar(sentences.get(i), sentences.get(j))) {
          repeated++;
          break;
        }
      }
    }
    return repeated;
  }

  private static List<String> sentences(String text) {
    List<String> out = new ArrayList<>();
    StringBuilder current = new StringBuilder();
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      current.append(Character.isWhitespace(c) ? ' ' : Character.toLowerCase(c));
      boolean end = c == '.' || c == '!' || c == '?' || c == '\n';
      if (end && (i + 1 == text.length() || Character.isWhitespace(text.charAt(i + 1)))) {
        add(current, out);
      }
    }
    add(current, out);
    return out;
  }

  private static void add(StringBuilder current, List<String> out) {
    String sentence = current.toString().strip().toLowerCase(Locale.ROOT);
    if (sentence.length() >= MIN_LENGTH) {
      out.add(sentence);
    }
    current.setLength(0);
  }

  private static boolean similar(String a, String b) {
    int longest = Math.max(a.length(), b.length());
    int budget = longest / 5;
    return Math.abs(a.length() - b.length()) <= budget && distance(a, b) <= budget;
  }

  /** Levenshtein distance with two rolling rows. */
  private static int distance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      char ca = a.charAt(i - 1);
      for (int j = 1; j <= b.length(); j++) {
        int substitute = previous[j - 1] + (ca == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }
}

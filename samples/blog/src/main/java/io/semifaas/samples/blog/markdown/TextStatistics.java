package io.semifaas.samples.blog.markdown;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/** Deterministic word statistics over plain text: tokens, sentences, syllables, frequencies. */
public final class TextStatistics {

  /** Words too common to say anything about a text. */
  private static final Set<String> STOP_WORDS =
      Set.of(
          "a", "an", "and", "are", "as", "at", "be", "but", "by", "can", "for", "from", "has",
          "have", "in", "is", "it", "its", "not", "of", "on", "or", "that", "the", "this", "to",
          "was", "we", "were", "which", "will", "with", "you", "your");

  private TextStatistics() {}

  /** Lower-cased words (letters, digits and inner apostrophes or hyphens), in order. */
  public static List<String> words(String text) {
    List<String> words = new ArrayList<>();
    int i = 0;
    int n = text.length();
    while (i < n) {
      while (i < n && !Character.isLetterOrDigit(text.charAt(i))) {
        i++;
      }
      int start = i;
      while (i < n
          && (Character.isLetterOrDigit(text.charAt(i))
              || ((text.charAt(i) == '\'' || text.charAt(i) == '-')
                  && i + 1 < n
                  && Character.isLetterOrDigit(text.charAt(i + 1))))) {
        i++;
      }
      if (i > start) {
        words.add(text.substring(start, i).toLowerCase(Locale.ROOT));
      }
    }
    return words;
  }

  public static int sentences(String text) {
    int count = 0;
    boolean inSentence = false;
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c == '.' || c == '!' || c == '?') {
        if (inSentence) {
          count++;
        }
        inSentence = false;
      } else if (Character.isLetterOrDigit(c)) {
        inSentence = true;
      }
    }
    return inSentence ? count + 1 : count;
  }

  /** Vowel-group syllable estimate, the usual heuristic behind readability scores. */
  public static int syllables(String word) {
    int count = 0;
    boolean previousVowel = false;
    for (int i = 0; i < word.length(); i++) {
      boolean vowel = "aeiouy".indexOf(word.charAt(i)) >= 0;
      if (vowel && !previousVowel) {
        count++;
      }
      previousVowel = vowel;
    }
    if (word.endsWith("e") && count > 1) {
      count--;
    }
    return Math.max(count, 1);
  }

  /** Counts of the words that are not stop words and longer than two characters. */
  public static Map<String, Integer> termFrequencies(List<String> words) {
    Map<String, Integer> counts = new HashMap<>();
    for (String word : words) {
      if (word.length() > 2 && !STOP_WORDS.contains(word)) {
        counts.merge(word, 1, Integer::sum);
      }
    }
    return counts;
  }

  /** Counts of adjacent word pairs where neither is a stop word. */
  public static Map<String, Integer> bigramFrequencies(List<String> words) {
    Map<String, Integer> counts = new HashMap<>();
    for (int i = 0; i + 1 < words.size(); i++) {
      String a = words.get(i);
      String b = words.get(i + 1);
      if (!STOP_WORDS.contains(a) && !STOP_WORDS.contains(b)) {
        counts.merge(a + " " + b, 1, Integer::sum);
      }
    }
    return counts;
  }

  /** The {@code limit} most frequent entries, ties broken alphabetically. */
  public static List<TermCount> top(Map<String, Integer> counts, int limit) {
    return counts.entrySet().stream()
        .sorted(
            Comparator.<Map.Entry<String, Integer>>comparingInt(Map.Entry::getValue)
                .reversed()
                .thenComparing(Map.Entry::getKey))
        .limit(limit)
        .map(e -> new TermCount(e.getKey(), e.getValue()))
        .toList();
  }

  /** Flesch reading ease, rounded to one decimal so it is stable across platforms. */
  public static double readingEase(int words, int sentences, int syllables) {
    if (words == 0 || sentences == 0) {
      return 0.0;
    }
    double score =
        206.835 - 1.015 * ((double) words / sentences) - 84.6 * ((double) syllables / words);
    return Math.round(score * 10) / 10.0;
  }
}

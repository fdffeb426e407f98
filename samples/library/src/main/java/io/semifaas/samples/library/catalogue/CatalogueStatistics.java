package io.semifaas.samples.library.catalogue;

import io.semifaas.samples.library.catalogue.CatalogueSummary.AuthorCount;
import io.semifaas.samples.library.catalogue.CatalogueSummary.SimilarTitles;
import io.semifaas.samples.library.domain.Book;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;

/**
 * Computes the {@link CatalogueSummary} afresh from the books: author counts and their entropy,
 * and an all-pairs edit-distance comparison of the titles. Deterministic: ties are broken by name
 * or id, and numbers are formatted without the default locale.
 */
public final class CatalogueStatistics {

  /** Title pairs at least this similar are listed. */
  public static final double SIMILAR = 0.6;

  static final int TOP_AUTHORS = 5;

  private CatalogueStatistics() {}

  public static CatalogueSummary summarize(List<Book> books) {
    Map<String, Integer> byAuthor = new TreeMap<>();
    int copies = 0;
    int onLoan = 0;
    long years = 0;
    for (Book book : books) {
      byAuthor.merge(book.getAuthor(), 1, Integer::sum);
      copies += book.getCopies();
      onLoan += book.getOnLoan();
      years += book.getPublishedYear();
    }
    double entropy = 0;
    for (int count : byAuthor.values()) {
      double p = (double) count / books.size();
      entropy -= p * Math.log(p) / Math.log(2);
    }
    List<AuthorCount> top =
        byAuthor.entrySet().stream()
            .map(e -> new AuthorCount(e.getKey(), e.getValue()))
            .sorted(
                Comparator.comparingInt(AuthorCount::titles)
                    .reversed()
                    .thenComparing(AuthorCount::author))
            .limit(TOP_AUTHORS)
            .toList();
    String meanYear =
        books.isEmpty() ? "-" : String.format(Locale.ROOT, "%.1f", (double) years / books.size());
    return new CatalogueSummary(
        books.size(),
        copies,
        onLoan,
        byAuthor.size(),
        String.format(Locale.ROOT, "%.3f", entropy),
        meanYear,
        top,
        similarTitles(books));
  }

  private static List<SimilarTitles> similarTitles(List<Book> books) {
    List<Book> byId = new ArrayList<>(books);
    byId.sort(Comparator.comparing(Book::getId));
    List<String> titles = byId.stream().map(b -> b.getTitle().toLowerCase(Locale.ROOT)).toList();
    record Scored(int first, int second, int distance, int length) {
      double similarity() {
        return 1.0 - (double) distance / length;
      }
    }
    List<Scored> similar = new ArrayList<>();
    for (int i = 0; i < titles.size(); i++) {
      for (int j = i + 1; j < titles.size(); j++) {
        String a = titles.get(i);
        String b = titles.get(j);
        int length = Math.max(a.length(), b.length());
        Scored scored = new Scored(i, j, editDistance(a, b), Math.max(length, 1));
        if (scored.similarity() >= SIMILAR) {
          similar.add(scored);
        }
      }
    }
    similar.sort(
        Comparator.comparingDouble(Scored::similarity)
            .reversed()
            .thenComparingInt(Scored::first)
            .thenComparingInt(Scored::second));
    return similar.stream()
        .map(
            s ->
                new SimilarTitles(
                    byId.get(s.first()).getId(),
                    byId.get(s.first()).getTitle(),
                    byId.get(s.second()).getId(),
                    byId.get(s.second()).getTitle(),
                    String.format(Locale.ROOT, "%.2f", s.similarity())))
        .toList();
  }

  /** Levenshtein distance (insertions, deletions and substitutions of one character each). */
  static int editDistance(String a, String b) {
    int[] previous = new int[b.length() + 1];
    int[] current = new int[b.length() + 1];
    for (int j = 0; j <= b.length(); j++) {
      previous[j] = j;
    }
    for (int i = 1; i <= a.length(); i++) {
      current[0] = i;
      for (int j = 1; j <= b.length(); j++) {
        int substitute = previous[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1);
        current[j] = Math.min(substitute, Math.min(previous[j], current[j - 1]) + 1);
      }
      int[] swap = previous;
      previous = current;
      current = swap;
    }
    return previous[b.length()];
  }
}

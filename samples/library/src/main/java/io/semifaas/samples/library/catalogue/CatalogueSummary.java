package io.semifaas.samples.library.catalogue;

import java.util.List;

/**
 * Figures over the whole catalogue, shown above the book list.
 *
 * @param authorDiversity Shannon entropy of the titles per author, in bits, to three decimals
 * @param meanYear mean year of publication, to one decimal
 * @param similarTitles pairs of titles that differ in few letters, most similar first
 */
public record CatalogueSummary(
    int titles,
    int copies,
    int onLoan,
    int authors,
    String authorDiversity,
    String meanYear,
    List<AuthorCount> topAuthors,
    List<SimilarTitles> similarTitles) {

  /** How many titles of an author the library has. */
  public record AuthorCount(String author, int titles) {}

  /**
   * Two titles whose edit distance is small relative to their length.
   *
   * @param similarity 1 minus the edit distance over the longer length, to two decimals
   */
  public record SimilarTitles(
      long firstId, String first, long secondId, String second, String similarity) {}
}

package io.semifaas.samples.blog.web;

import io.semifaas.samples.blog.markdown.TermCount;
import java.util.List;
import java.util.SortedMap;

/**
 * Counts and corpus-wide statistics over every post.
 *
 * @param repeatedSentences sentences that nearly repeat an earlier one in the same post, summed
 * @param similarPosts pairs of post ids (lower first, ordered) whose fingerprints differ in at most
 *     {@link StatsController#SIMILAR_BITS} bits
 */
public record StatsView(
    long users,
    long posts,
    long comments,
    long words,
    long repeatedSentences,
    SortedMap<String, Long> postsByAuthor,
    List<TermCount> topTerms,
    List<TermCount> topBigrams,
    List<List<Long>> similarPosts) {}

package io.semifaas.samples.blog.web;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Size;

/**
 * A new or edited post, from JSON or from the HTML form. Messages are literal (not message-bundle
 * keys) so error bodies do not depend on the request's locale.
 */
public record PostRequest(
    @NotBlank(message = "must not be empty")
        @Size(max = PostRequest.MAX_TITLE, message = "must be at most 200 characters")
        String title,
    @NotBlank(message = "must not be empty")
        @Size(max = PostRequest.MAX_BODY, message = "must be at most 20000 characters")
        String body) {

  public static final int MAX_TITLE = 200;
  public static final int MAX_BODY = 20_000;
}

package io.semifaas.samples.blog.web;

import jakarta.validation.constraints.NotBlank;
import jakarta.validation.constraints.Size;

/** A new comment (JSON). */
public record CommentRequest(
    @NotBlank(message = "must not be empty")
        @Size(max = 2000, message = "must be at most 2000 characters")
        String body) {}

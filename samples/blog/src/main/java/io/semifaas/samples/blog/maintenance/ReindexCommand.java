package io.semifaas.samples.blog.maintenance;

import io.semifaas.common.CodecForbidden;

/**
 * An operator's command: rebuild the search index. Harmless by itself, but the blog never wants
 * one built from bytes that arrive over the network, so it is marked for the agent's codec.
 */
@CodecForbidden
public class ReindexCommand {
  private final boolean full;

  public ReindexCommand(boolean full) {
    this.full = full;
  }

  public boolean isFull() {
    return full;
  }
}

package io.semifaas.runtime;

import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.net.MalformedURLException;
import java.net.URL;
import java.net.URLConnection;
import java.net.URLStreamHandler;

/** URLs whose content is a byte array held in memory, for resources a closure carries. */
final class MemoryUrls {

  private MemoryUrls() {}

  static URL of(String closureId, String path, byte[] bytes) {
    try {
      // The handler is given directly, so no protocol handler needs registering.
      return new URL("semifaas-closure", closureId, -1, "/" + path, new Handler(bytes));
    } catch (MalformedURLException e) {
      throw new IllegalArgumentException("resource path " + path + " cannot form a URL", e);
    }
  }

  private static final class Handler extends URLStreamHandler {
    private final byte[] bytes;

    Handler(byte[] bytes) {
      this.bytes = bytes;
    }

    @Override
    protected URLConnection openConnection(URL url) {
      return new URLConnection(url) {
        @Override
        public void connect() {
          connected = true;
        }

        @Override
        public InputStream getInputStream() {
          return new ByteArrayInputStream(bytes);
        }

        @Override
        public long getContentLengthLong() {
          return bytes.length;
        }
      };
    }
  }
}

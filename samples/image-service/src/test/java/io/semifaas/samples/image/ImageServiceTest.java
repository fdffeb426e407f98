package io.semifaas.samples.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.CRC32;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.client.TestRestTemplate;
import org.springframework.http.HttpEntity;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpMethod;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;

@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT)
class ImageServiceTest {

  @Autowired private TestRestTemplate http;

  private final ObjectMapper json = new ObjectMapper();

  @Test
  void healthSaysOk() {
    ResponseEntity<String> response = http.getForEntity("/health", String.class);
    assertThat(response.getStatusCode()).isEqualTo(HttpStatus.OK);
    assertThat(response.getBody()).isEqualTo("ok");
  }

  @Test
  void generateIsDeterministicPerSeed() throws IOException {
    byte[] first = png(http.getForEntity("/images/generate/320/200?seed=7", byte[].class));
    byte[] again = png(http.getForEntity("/images/generate/320/200?seed=7", byte[].class));
    byte[] other = png(http.getForEntity("/images/generate/320/200?seed=8", byte[].class));

    assertSize(first, 320, 200);
    assertThat(again).isEqualTo(first);
    assertThat(other).isNotEqualTo(first);
  }

  @Test
  void resizeScalesPngAndJpegToTheRequestedSize() throws IOException {
    byte[] source = generated(400, 300, 3);

    byte[] small = png(post("/images/resize?width=123&height=77", source, byte[].class));
    byte[] again = png(post("/images/resize?width=123&height=77", source, byte[].class));
    byte[] large = png(post("/images/resize?width=800&height=500", source, byte[].class));
    byte[] fromJpeg = png(post("/images/resize?width=50&height=60", jpeg(source), byte[].class));

    assertSize(small, 123, 77);
    assertThat(again).isEqualTo(small);
    assertSize(large, 800, 500);
    assertSize(fromJpeg, 50, 60);
  }

  @Test
  void resizeOfAUniformImageKeepsItsColor() throws IOException {
    byte[] resized =
        png(post("/images/resize?width=37&height=91", uniform(64, 64, 0x336699), byte[].class));

    BufferedImage image = decode(resized);
    assertThat(image.getRGB(0, 0) & 0xFFFFFF).isEqualTo(0x336699);
    assertThat(image.getRGB(36, 90) & 0xFFFFFF).isEqualTo(0x336699);
  }

  @Test
  void blurSmoothsDetailButKeepsSizeAndFlatAreas() throws IOException {
    byte[] source = generated(200, 150, 11);

    byte[] blurred = png(post("/images/blur/6", source, byte[].class));
    byte[] flat = png(post("/images/blur/9", uniform(40, 30, 0x80C020), byte[].class));

    assertSize(blurred, 200, 150);
    assertThat(roughness(decode(blurred))).isLessThan(roughness(decode(source)) / 2);
    BufferedImage flatImage = decode(flat);
    assertThat(flatImage.getRGB(0, 0) & 0xFFFFFF).isEqualTo(0x80C020);
    assertThat(flatImage.getRGB(39, 29) & 0xFFFFFF).isEqualTo(0x80C020);
  }

  @Test
  void thumbnailsFormANearSquareGrid() throws IOException {
    byte[] grid = png(http.getForEntity("/images/thumbnails/5?seed=3&size=32", byte[].class));
    byte[] again = png(http.getForEntity("/images/thumbnails/5?seed=3&size=32", byte[].class));

    // 5 thumbnails: 3 columns, 2 rows, 4-pixel gaps around and between.
    assertSize(grid, 3 * 32 + 4 * 4, 2 * 32 + 3 * 4);
    assertThat(again).isEqualTo(grid);
  }

  @Test
  void histogramCountsEveryPixelPerChannel() throws IOException {
    ResponseEntity<String> response =
        post("/images/histogram", uniform(30, 20, 0x0A141E), String.class);

    assertThat(response.getStatusCode()).isEqualTo(HttpStatus.OK);
    assertThat(response.getHeaders().getContentType()).isEqualTo(MediaType.APPLICATION_JSON);
    JsonNode body = json.readTree(response.getBody());
    assertThat(body.get("width").asInt()).isEqualTo(30);
    assertThat(body.get("height").asInt()).isEqualTo(20);
    assertThat(body.get("red")).hasSize(256);
    assertThat(body.get("red").get(0x0A).asInt()).isEqualTo(600);
    assertThat(body.get("green").get(0x14).asInt()).isEqualTo(600);
    assertThat(body.get("blue").get(0x1E).asInt()).isEqualTo(600);
    // Rec. 601 luma of (10, 20, 30).
    assertThat(body.get("meanBrightness").asDouble()).isEqualTo(18.15);
  }

  @Test
  void histogramOfAGeneratedImageSumsToItsPixelCount() throws IOException {
    JsonNode body =
        json.readTree(post("/images/histogram", generated(64, 48, 5), String.class).getBody());

    for (String channel : new String[] {"red", "green", "blue"}) {
      int total = 0;
      for (JsonNode bin : body.get(channel)) {
        total += bin.asInt();
      }
      assertThat(total).as(channel).isEqualTo(64 * 48);
    }
  }

  @Test
  void unreadableBodyIsRejectedWithAStableError() throws IOException {
    byte[] garbage = "definitely not an image".getBytes();

    ResponseEntity<String> first = post("/images/blur/3", garbage, String.class);
    ResponseEntity<String> again = post("/images/blur/3", garbage, String.class);

    assertError(
        first,
        HttpStatus.UNPROCESSABLE_ENTITY,
        "invalid_image",
        "the request body (23 bytes) is not a PNG or JPEG image");
    assertThat(again.getBody()).isEqualTo(first.getBody());
  }

  @Test
  void truncatedPngIsRejected() throws IOException {
    byte[] source = generated(100, 100, 1);
    byte[] truncated = Arrays.copyOf(source, source.length / 2);

    assertError(
        post("/images/histogram", truncated, String.class),
        HttpStatus.UNPROCESSABLE_ENTITY,
        "invalid_image",
        "the request body (" + truncated.length + " bytes) could not be decoded as an image");
  }

  @Test
  void hugeDeclaredDimensionsAreRejectedBeforeDecoding() throws IOException {
    byte[] bomb = withDeclaredSize(uniform(1, 1, 0), 100_000, 100_000);

    assertError(
        post("/images/resize?width=10&height=10", bomb, String.class),
        HttpStatus.UNPROCESSABLE_ENTITY,
        "image_too_large",
        "100000x100000 exceeds the limit of 4096 pixels per side");
  }

  @Test
  void outOfRangeParametersAreRejected() throws IOException {
    byte[] source = uniform(8, 8, 0);

    assertError(
        post("/images/resize?width=5000&height=10", source, String.class),
        HttpStatus.UNPROCESSABLE_ENTITY,
        "image_too_large",
        "5000x10 exceeds the limit of 4096 pixels per side");
    assertError(
        post("/images/blur/0", source, String.class),
        HttpStatus.UNPROCESSABLE_ENTITY,
        "bad_parameter",
        "radius must be between 1 and 64, got 0");
    assertError(
        http.getForEntity("/images/generate/0/10", String.class),
        HttpStatus.UNPROCESSABLE_ENTITY,
        "bad_parameter",
        "width and height must be positive, got 0x10");
    assertError(
        http.getForEntity("/images/thumbnails/65", String.class),
        HttpStatus.UNPROCESSABLE_ENTITY,
        "bad_parameter",
        "count must be between 1 and 64, got 65");
  }

  @Test
  void malformedRequestsGetABadRequest() throws IOException {
    assertError(
        post("/images/resize?width=10", uniform(8, 8, 0), String.class),
        HttpStatus.BAD_REQUEST,
        "bad_request",
        "the request parameter 'height' is missing");
    assertError(
        http.getForEntity("/images/generate/ten/10", String.class),
        HttpStatus.BAD_REQUEST,
        "bad_request",
        "'width' must be int, got 'ten'");
    assertError(
        post("/images/histogram", new byte[0], String.class),
        HttpStatus.BAD_REQUEST,
        "bad_request",
        "the request body is missing; send PNG or JPEG bytes");
  }

  // --- helpers ---

  private <T> ResponseEntity<T> post(String path, byte[] body, Class<T> type) {
    HttpHeaders headers = new HttpHeaders();
    headers.setContentType(MediaType.APPLICATION_OCTET_STREAM);
    return http.exchange(path, HttpMethod.POST, new HttpEntity<>(body, headers), type);
  }

  private byte[] generated(int width, int height, long seed) {
    return png(
        http.getForEntity(
            "/images/generate/" + width + "/" + height + "?seed=" + seed, byte[].class));
  }

  private static byte[] png(ResponseEntity<byte[]> response) {
    assertThat(response.getStatusCode()).isEqualTo(HttpStatus.OK);
    assertThat(response.getHeaders().getContentType()).isEqualTo(MediaType.IMAGE_PNG);
    return response.getBody();
  }

  private void assertError(
      ResponseEntity<String> response, HttpStatus status, String code, String message)
      throws IOException {
    assertThat(response.getStatusCode()).isEqualTo(status);
    assertThat(response.getHeaders().getContentType()).isEqualTo(MediaType.APPLICATION_JSON);
    JsonNode body = json.readTree(response.getBody());
    assertThat(body.get("error").asText()).isEqualTo(code);
    assertThat(body.get("message").asText()).isEqualTo(message);
  }

  private static void assertSize(byte[] png, int width, int height) throws IOException {
    BufferedImage image = decode(png);
    assertThat(image.getWidth()).isEqualTo(width);
    assertThat(image.getHeight()).isEqualTo(height);
  }

  private static BufferedImage decode(byte[] bytes) throws IOException {
    BufferedImage image = ImageIO.read(new ByteArrayInputStream(bytes));
    assertThat(image).as("decodable image").isNotNull();
    return image;
  }

  private static byte[] uniform(int width, int height, int rgb) throws IOException {
    BufferedImage image = new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        image.setRGB(x, y, rgb);
      }
    }
    return encode(image, "png");
  }

  private static byte[] jpeg(byte[] png) throws IOException {
    return encode(decode(png), "jpeg");
  }

  private static byte[] encode(BufferedImage image, String format) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    assertThat(ImageIO.write(image, format, out)).isTrue();
    return out.toByteArray();
  }

  /** Rewrites the IHDR width and height of a PNG (and its CRC) without touching the pixel data. */
  private static byte[] withDeclaredSize(byte[] png, int width, int height) {
    byte[] out = png.clone();
    ByteBuffer buffer = ByteBuffer.wrap(out);
    // 8-byte signature, 4-byte length, "IHDR", then width and height.
    buffer.putInt(16, width);
    buffer.putInt(20, height);
    CRC32 crc = new CRC32();
    crc.update(out, 12, 4 + 13);
    buffer.putInt(12 + 4 + 13, (int) crc.getValue());
    return out;
  }

  /** Mean absolute difference between horizontally adjacent pixels, over all channels. */
  private static double roughness(BufferedImage image) {
    long sum = 0;
    for (int y = 0; y < image.getHeight(); y++) {
      for (int x = 1; x < image.getWidth(); x++) {
        int a = image.getRGB(x - 1, y);
        int b = image.getRGB(x, y);
        for (int shift = 0; shift <= 16; shift += 8) {
          sum += Math.abs(((a >> shift) & 0xFF) - ((b >> shift) & 0xFF));
        }
      }
    }
    return sum / (double) ((image.getWidth() - 1) * image.getHeight() * 3);
  }
}

package io.semifaas.agent;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import io.semifaas.common.InOutArguments;
import io.semifaas.common.ObjectCodec;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.springframework.http.HttpStatus;
import org.springframework.http.ResponseEntity;
import org.springframework.ui.ExtendedModelMap;
import org.springframework.validation.BeanPropertyBindingResult;
import org.springframework.validation.BindingResult;
import org.springframework.web.servlet.mvc.support.RedirectAttributes;
import org.springframework.web.servlet.mvc.support.RedirectAttributesModelMap;

/** Spring's models and binding results, copied back after a round trip through the codec. */
class InOutCopyBackTest {
  private static final ClassLoader LOADER = InOutCopyBackTest.class.getClassLoader();

  public static class Post {
    private String title = "";

    public String getTitle() {
      return title;
    }

    public void setTitle(String title) {
      this.title = title;
    }
  }

  @Test
  void modelsAreRefilledAndBindingResultsGetTheNewErrors() throws Exception {
    ExtendedModelMap model = new ExtendedModelMap();
    model.addAttribute("stale", 1);
    Post post = new Post();
    BindingResult errors = new BeanPropertyBindingResult(post, "post");
    errors.rejectValue("title", "empty", "must not be empty");
    Object[] args = {post, errors, model};
    int[] positions = InOutArguments.positions(args, a -> true);
    assertEquals(2, positions.length, "the binding result and the model");

    // What the function does to its copies.
    Object[] copies = (Object[]) ObjectCodec.deserialize(ObjectCodec.serialize(args), LOADER);
    BindingResult copiedErrors = (BindingResult) copies[1];
    copiedErrors.reject("duplicate", "a post with this title exists");
    ExtendedModelMap copiedModel = (ExtendedModelMap) copies[2];
    copiedModel.remove("stale");
    copiedModel.addAttribute("title", "Hello");
    Object[] wrapped = InOutArguments.wrap("form", copies, positions);
    Object[] returned = (Object[]) ObjectCodec.deserialize(ObjectCodec.serialize(wrapped), LOADER);

    InOutArguments.copyBack(args, positions, returned);
    assertEquals(Map.of("title", "Hello"), Map.copyOf(model));
    assertEquals(2, errors.getErrorCount());
    assertEquals("duplicate", errors.getGlobalError().getCode());
    assertEquals("empty", errors.getFieldError("title").getCode(), "the original error kept once");
    assertSame(post, errors.getTarget());
  }

  @Test
  void redirectAttributesBringBackTheirFlashAttributes() throws Exception {
    RedirectAttributesModelMap redirect = new RedirectAttributesModelMap();
    Object[] args = {redirect};
    int[] positions = InOutArguments.positions(args, a -> true);
    Object[] copies = (Object[]) ObjectCodec.deserialize(ObjectCodec.serialize(args), LOADER);
    RedirectAttributes copied = (RedirectAttributes) copies[0];
    copied.addAttribute("page", 2);
    copied.addFlashAttribute("message", "Added Northanger Abbey");
    Object[] wrapped = InOutArguments.wrap("redirect:/books/26", copies, positions);
    Object[] returned = (Object[]) ObjectCodec.deserialize(ObjectCodec.serialize(wrapped), LOADER);

    InOutArguments.copyBack(args, positions, returned);
    assertEquals("2", redirect.asMap().get("page"));
    assertEquals(Map.of("message", "Added Northanger Abbey"), Map.copyOf(redirect.getFlashAttributes()));
  }

  @Test
  void responseEntitiesKeepTheirReadOnlyHeaders() throws Exception {
    ResponseEntity<Object> entity =
        ResponseEntity.status(HttpStatus.CREATED).header("X-Id", "7").body("made");
    ResponseEntity<?> copy =
        (ResponseEntity<?>) ObjectCodec.deserialize(ObjectCodec.serialize(entity), LOADER);
    assertEquals(HttpStatus.CREATED, copy.getStatusCode());
    assertEquals("7", copy.getHeaders().getFirst("x-id"));
    assertEquals(false, copy.getHeaders().isEmpty());
    ResponseEntity<?> bare =
        (ResponseEntity<?>)
            ObjectCodec.deserialize(ObjectCodec.serialize(ResponseEntity.ok("x")), LOADER);
    assertEquals(true, bare.getHeaders().isEmpty());
  }
}

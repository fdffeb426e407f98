package io.semifaas.samples.blog.web;

import io.semifaas.samples.blog.domain.Post;
import io.semifaas.samples.blog.service.BlogService;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpSession;
import jakarta.validation.Valid;
import org.springframework.stereotype.Controller;
import org.springframework.ui.Model;
import org.springframework.validation.BindingResult;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.ModelAttribute;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;

/** Server-side HTML pages (Thymeleaf): each handler fills the {@link Model}. */
@Controller
public class PageController {

  private final PostReader reader;
  private final BlogService blog;

  public PageController(PostReader reader, BlogService blog) {
    this.reader = reader;
    this.blog = blog;
  }

  @GetMapping("/posts")
  public String list(Model model, HttpSession session, HttpServletRequest request) {
    model.addAttribute("posts", reader.summaries());
    model.addAttribute("user", SessionState.user(session));
    model.addAttribute("path", request.getRequestURI());
    return "posts";
  }

  @GetMapping("/posts/{id}")
  public String show(@PathVariable("id") long id, Model model, HttpSession session) {
    PostDetail post = reader.detail(id);
    SessionState.recordVisit(session, id);
    model.addAttribute("post", post);
    model.addAttribute("user", SessionState.user(session));
    return "post";
  }

  @GetMapping("/posts/new")
  public String newPost(Model model, HttpSession session) {
    model.addAttribute("form", new PostRequest("", ""));
    model.addAttribute("user", SessionState.requireUser(session, "write a post"));
    return "new-post";
  }

  /** The HTML form: invalid input re-renders the form with the problems listed. */
  @PostMapping("/posts")
  public String create(
      @Valid @ModelAttribute("form") PostRequest form,
      BindingResult errors,
      Model model,
      HttpSession session) {
    String user = SessionState.requireUser(session, "write a post");
    if (errors.hasErrors()) {
      model.addAttribute("problems", ValidationErrors.problems(errors));
      model.addAttribute("user", user);
      return "new-post";
    }
    Post post = blog.createPost(user, form.title(), form.body());
    return "redirect:/posts/" + post.getId();
  }
}

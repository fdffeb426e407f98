package com.example.shop;

/** A superclass from the application, shipped with the closure. */
public abstract class BaseController {
  protected String region = "eu";
}

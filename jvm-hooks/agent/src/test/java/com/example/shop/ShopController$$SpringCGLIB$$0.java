package com.example.shop;

/** Named as Spring's CGLIB names the proxy subclasses it generates. */
public class ShopController$$SpringCGLIB$$0 extends ShopController {}

//! The Java callbacks that serve class and resource fallbacks: static methods of
//! `io.semifaas.agent.NativeBridge`, called on attached (fallback server) threads.

use jni::{
    jni_sig, jni_str,
    objects::{Global, JByteArray, JClass, JValue},
    strings::JNIStr,
    Env, JavaVM,
};

use crate::fallback_service::{CodeSource, CodeSourceError};

pub struct JavaCodeSource {
    vm: JavaVM,
    bridge: Global<JClass<'static>>,
}

impl JavaCodeSource {
    /// Keeps the VM and a global reference to the bridge class; call on a Java thread.
    pub fn new(env: &Env, bridge_class: &JClass) -> jni::errors::Result<JavaCodeSource> {
        Ok(JavaCodeSource {
            vm: env.get_java_vm()?,
            bridge: env.new_global_ref(bridge_class)?,
        })
    }

    /// Calls `static byte[] method(String)` on the bridge; Java's `null` is `None`.
    fn call(&self, method: &JNIStr, arg: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
        // Scoped: a thread left attached counts as a non-daemon Java thread, and the JVM's exit
        // would wait for the runtime's idle blocking threads to time out.
        self.vm
            .attach_current_thread_for_scope(|env| -> jni::errors::Result<Option<Vec<u8>>> {
                let name = env.new_string(arg)?;
                let value = env
                    .call_static_method(
                        &self.bridge,
                        method,
                        jni_sig!("(Ljava/lang/String;)[B"),
                        &[JValue::from(&name)],
                    )?
                    .l()?;
                if value.is_null() {
                    return Ok(None);
                }
                let array = env.cast_local::<JByteArray>(value)?;
                Ok(Some(env.convert_byte_array(&array)?))
            })
            .map_err(|e| CodeSourceError(format!("NativeBridge.{method}({arg:?}) failed: {e}")))
    }
}

impl CodeSource for JavaCodeSource {
    fn class_bytes(&self, binary_name: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
        self.call(jni_str!("classBytes"), binary_name)
    }

    fn resource_bytes(&self, path: &str) -> Result<Option<Vec<u8>>, CodeSourceError> {
        self.call(jni_str!("resourceBytes"), path)
    }
}

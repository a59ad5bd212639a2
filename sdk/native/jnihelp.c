//go:build wwspecsdk && !nojni

#include <stddef.h>
#include "jnihelp.h"

static jclass cString, cMap, cHashMap;
static jobject oUTF8;  // java.nio.charset.StandardCharsets.UTF_8
static jmethodID mEntrySet, mIterator, mHasNext, mNext, mGetKey, mGetValue, mHashMapInit, mPut, mGetBytes, mStringInit;

jstring wwjni_NewStringUTF(JNIEnv *env, const char *utf) { return (*env)->NewStringUTF(env, utf); }

jbyteArray wwjni_StringBytes(JNIEnv *env, jstring s, jsize *len) {
	jbyteArray b = (jbyteArray)(*env)->CallObjectMethod(env, s, mGetBytes, oUTF8);
	if (wwjni_Failed(env) || b == NULL) return NULL;
	*len = (*env)->GetArrayLength(env, b);
	return b;
}

void wwjni_TakeBytes(JNIEnv *env, jbyteArray b, jsize len, char *buf) {
	if (len > 0) (*env)->GetByteArrayRegion(env, b, 0, len, (jbyte *)buf);
	(*env)->DeleteLocalRef(env, b);
}

jint wwjni_ReadShort(JNIEnv *env, jstring s, char *buf, jint cap) {
	jsize n = (*env)->GetStringLength(env, s);
	if (n == 0) {
		buf[0] = 0;
		return 0;
	}
	if (n >= cap || (*env)->GetStringUTFLength(env, s) != n) return -1;
	(*env)->GetStringUTFRegion(env, s, 0, n, buf);  // writes a NUL after the n bytes
	return n;
}

jstring wwjni_StringFromBytes(JNIEnv *env, const char *buf, jsize len) {
	jbyteArray b = (*env)->NewByteArray(env, len);
	if (wwjni_Failed(env) || b == NULL) return NULL;
	(*env)->SetByteArrayRegion(env, b, 0, len, (const jbyte *)buf);
	jstring s = (jstring)(*env)->NewObject(env, cString, mStringInit, b, oUTF8);
	(*env)->DeleteLocalRef(env, b);
	return wwjni_Failed(env) ? NULL : s;
}

jboolean wwjni_Failed(JNIEnv *env) {
	if (!(*env)->ExceptionCheck(env)) return JNI_FALSE;
	(*env)->ExceptionClear(env);
	return JNI_TRUE;
}

void wwjni_DeleteLocalRef(JNIEnv *env, jobject o) {
	if (o != NULL) (*env)->DeleteLocalRef(env, o);
}

jboolean wwjni_IsString(JNIEnv *env, jobject o) { return o != NULL && (*env)->IsInstanceOf(env, o, cString); }
jboolean wwjni_IsMap(JNIEnv *env, jobject o) { return o != NULL && (*env)->IsInstanceOf(env, o, cMap); }

jweak wwjni_NewWeakGlobalRef(JNIEnv *env, jobject o) { return (*env)->NewWeakGlobalRef(env, o); }
void wwjni_DeleteWeakGlobalRef(JNIEnv *env, jweak o) { (*env)->DeleteWeakGlobalRef(env, o); }
jboolean wwjni_IsCleared(JNIEnv *env, jweak o) { return (*env)->IsSameObject(env, o, NULL); }

jobject wwjni_MapIterator(JNIEnv *env, jobject map) {
	jobject set = (*env)->CallObjectMethod(env, map, mEntrySet);
	if (wwjni_Failed(env) || set == NULL) return NULL;
	jobject it = (*env)->CallObjectMethod(env, set, mIterator);
	(*env)->DeleteLocalRef(env, set);
	if (wwjni_Failed(env)) return NULL;
	return it;
}

jobject wwjni_IteratorNext(JNIEnv *env, jobject it) {
	jboolean more = (*env)->CallBooleanMethod(env, it, mHasNext);
	if (wwjni_Failed(env) || !more) return NULL;
	jobject o = (*env)->CallObjectMethod(env, it, mNext);
	if (wwjni_Failed(env)) return NULL;
	return o;
}

jobject wwjni_EntryKey(JNIEnv *env, jobject entry) {
	jobject o = (*env)->CallObjectMethod(env, entry, mGetKey);
	return wwjni_Failed(env) ? NULL : o;
}

jobject wwjni_EntryValue(JNIEnv *env, jobject entry) {
	jobject o = (*env)->CallObjectMethod(env, entry, mGetValue);
	return wwjni_Failed(env) ? NULL : o;
}

jobject wwjni_NewHashMap(JNIEnv *env) {
	jobject m = (*env)->NewObject(env, cHashMap, mHashMapInit);
	return wwjni_Failed(env) ? NULL : m;
}

jboolean wwjni_MapPut(JNIEnv *env, jobject map, jstring k, jstring v) {
	jobject old = (*env)->CallObjectMethod(env, map, mPut, k, v);
	if (wwjni_Failed(env)) return JNI_FALSE;
	wwjni_DeleteLocalRef(env, old);
	return JNI_TRUE;
}

jfieldID wwjni_Field(JNIEnv *env, jobject o, const char *name, const char *sig) {
	jclass c = (*env)->GetObjectClass(env, o);
	if (c == NULL) {
		wwjni_Failed(env);
		return NULL;
	}
	jfieldID f = (*env)->GetFieldID(env, c, name, sig);
	(*env)->DeleteLocalRef(env, c);
	if (wwjni_Failed(env)) return NULL;
	return f;
}

jobject wwjni_GetObjectField(JNIEnv *env, jobject o, jfieldID f) { return (*env)->GetObjectField(env, o, f); }

jboolean wwjni_SetObjectField(JNIEnv *env, jobject o, jfieldID f, jobject v) {
	(*env)->SetObjectField(env, o, f, v);
	return !wwjni_Failed(env);
}

JNIEnv *wwjni_GetEnv(JavaVM *vm) {
	void *env = NULL;
	if ((*vm)->GetEnv(vm, &env, JNI_VERSION_1_8) != JNI_OK) return NULL;
	return (JNIEnv *)env;
}

static jclass globalClass(JNIEnv *env, const char *name) {
	jclass local = (*env)->FindClass(env, name);
	if (local == NULL) {
		wwjni_Failed(env);
		return NULL;
	}
	jclass g = (jclass)(*env)->NewGlobalRef(env, local);
	(*env)->DeleteLocalRef(env, local);
	return g;
}

static jmethodID method(JNIEnv *env, jclass c, const char *name, const char *sig) {
	if (c == NULL) return NULL;
	jmethodID m = (*env)->GetMethodID(env, c, name, sig);
	if (wwjni_Failed(env)) return NULL;
	return m;
}

int wwjni_Init(JNIEnv *env) {
	cString = globalClass(env, "java/lang/String");
	cMap = globalClass(env, "java/util/Map");
	cHashMap = globalClass(env, "java/util/HashMap");
	jclass cSet = globalClass(env, "java/util/Set");
	jclass cIterator = globalClass(env, "java/util/Iterator");
	jclass cEntry = globalClass(env, "java/util/Map$Entry");
	mEntrySet = method(env, cMap, "entrySet", "()Ljava/util/Set;");
	mPut = method(env, cMap, "put", "(Ljava/lang/Object;Ljava/lang/Object;)Ljava/lang/Object;");
	mIterator = method(env, cSet, "iterator", "()Ljava/util/Iterator;");
	mHasNext = method(env, cIterator, "hasNext", "()Z");
	mNext = method(env, cIterator, "next", "()Ljava/lang/Object;");
	mGetKey = method(env, cEntry, "getKey", "()Ljava/lang/Object;");
	mGetValue = method(env, cEntry, "getValue", "()Ljava/lang/Object;");
	mHashMapInit = method(env, cHashMap, "<init>", "()V");
	mGetBytes = method(env, cString, "getBytes", "(Ljava/nio/charset/Charset;)[B");
	mStringInit = method(env, cString, "<init>", "([BLjava/nio/charset/Charset;)V");
	jclass cCharsets = globalClass(env, "java/nio/charset/StandardCharsets");
	if (cCharsets != NULL) {
		jfieldID f = (*env)->GetStaticFieldID(env, cCharsets, "UTF_8", "Ljava/nio/charset/Charset;");
		if (!wwjni_Failed(env) && f != NULL) {
			jobject utf8 = (*env)->GetStaticObjectField(env, cCharsets, f);
			if (!wwjni_Failed(env) && utf8 != NULL) oUTF8 = (*env)->NewGlobalRef(env, utf8);
		}
	}
	if (!cString || !cMap || !cHashMap || !mEntrySet || !mPut || !mIterator || !mHasNext || !mNext || !mGetKey || !mGetValue ||
	    !mHashMapInit || !mGetBytes || !mStringInit || !oUTF8) {
		return -1;
	}
	return 0;
}

/* Four threads upload and read back distinct patterns at once, synchronously and on the
 * per-thread stream: the shared-memory ring must hand its space out and back in order. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dlfcn.h>
#include <pthread.h>
static int(*m)(void**,size_t);static int(*c)(void*,const void*,size_t,int);static int(*ca)(void*,const void*,size_t,int,void*);static int(*sy)(void*);
static int bad;
static void*run(void*a){long id=(long)a;size_t n=(48<<20)+id*4097;unsigned char*b=malloc(n),*r=malloc(n);void*d;m(&d,n);
for(int it=0;it<5;it++){for(size_t i=0;i<n;i++)b[i]=(unsigned char)(i*31+id*7+it);
 if(it&1){ca(d,b,n,1,(void*)2);sy((void*)2);}else c(d,b,n,1);
 c(r,d,n,2);if(memcmp(b,r,n)){bad++;printf("thread %ld iter %d differs\n",id,it);}}
return 0;}
int main(){void*h=dlopen("libcudart.so.13",RTLD_NOW);m=dlsym(h,"cudaMalloc");c=dlsym(h,"cudaMemcpy");ca=dlsym(h,"cudaMemcpyAsync");sy=dlsym(h,"cudaStreamSynchronize");
pthread_t t[4];for(long i=0;i<4;i++)pthread_create(&t[i],0,run,(void*)i);for(int i=0;i<4;i++)pthread_join(t[i],0);printf("threads done, %d bad\n",bad);return bad;}

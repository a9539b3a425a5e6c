console.log('c7auth demo: under construction')

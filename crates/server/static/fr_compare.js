// Side-by-side comparison tools for facial identification (FR-09): zoom, flip, overlay.
(function(){
  var p=document.getElementById('probe-img'),c=document.getElementById('cand-img');
  document.getElementById('zoom').addEventListener('input',function(e){p.style.transform=c.style.transform='scale('+e.target.value+')';});
  document.getElementById('flip').addEventListener('click',function(){var s=p.src;p.src=c.src;c.src=s;});
  document.getElementById('overlay').addEventListener('input',function(e){
    var v=parseFloat(e.target.value),box=document.getElementById('fr-compare');
    if(v>0){box.classList.add('overlay');c.style.opacity=v;c.parentNode.style.left=p.parentNode.offsetLeft+'px';c.parentNode.style.top=p.parentNode.offsetTop+'px';}
    else{box.classList.remove('overlay');c.style.opacity=1;c.parentNode.style.left='';c.parentNode.style.top='';}
  });
})();
